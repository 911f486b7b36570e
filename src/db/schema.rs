// The tables, as diesel sees them. Both migration sets (sqlite, postgres) produce this
// schema; tests/api/schema.rs checks that they agree column by column.

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        manager_id -> Nullable<BigInt>,
        locale -> Text,
        active -> Bool,
        away -> Bool,
        must_change_password -> Bool,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        whatsapp -> Nullable<Text>,
        instagram -> Nullable<Text>,
        locale -> Text,
        notes -> Text,
        email_opt_out -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    partners (id) {
        id -> BigInt,
        name -> Text,
        kind -> Text,
        contact -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        kind -> Text,
        channel -> Text,
        customer_id -> BigInt,
        partner_id -> Nullable<BigInt>,
        subject -> Text,
        customer_words -> Text,
        product -> Nullable<Text>,
        order_ref -> Nullable<Text>,
        category -> Nullable<Text>,
        details -> Nullable<Text>,
        root_cause -> Nullable<Text>,
        solution_type -> Nullable<Text>,
        solution -> Nullable<Text>,
        proposal_state -> Nullable<Text>,
        customer_comment -> Nullable<Text>,
        priority -> Text,
        stage -> Text,
        escalated_from -> Nullable<Text>,
        escalated_to -> Nullable<BigInt>,
        escalation_reason -> Nullable<Text>,
        assignee_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        resolution_summary -> Nullable<Text>,
        satisfaction -> Nullable<Integer>,
        next_promise_due_at -> Nullable<Timestamp>,
        awaiting_customer -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        first_response_due_at -> Nullable<Timestamp>,
        resolution_due_at -> Nullable<Timestamp>,
        first_response_warned -> Bool,
        first_response_breached -> Bool,
        resolution_warned -> Bool,
        resolution_breached -> Bool,
        clock_paused_at -> Nullable<Timestamp>,
        paused_minutes -> Integer,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        visibility -> Text,
        body -> Nullable<Text>,
        data -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    promises (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        what -> Text,
        due_at -> Timestamp,
        promised_by -> BigInt,
        status -> Text,
        note -> Nullable<Text>,
        replaced_by -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        reminded_at -> Nullable<Timestamp>,
        overdue_alerted_at -> Nullable<Timestamp>,
        escalation_alerted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    replacements (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        item -> Text,
        quantity -> Integer,
        reason -> Text,
        cost -> BigInt,
        status -> Text,
        needs_approval -> Bool,
        approved_by -> Nullable<BigInt>,
        courier -> Nullable<Text>,
        tracking_number -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        requested_by -> BigInt,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        shipped_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    canned_responses (id) {
        id -> BigInt,
        key -> Nullable<Text>,
        step -> Text,
        locale -> Text,
        title -> Text,
        body -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        event_id -> Nullable<BigInt>,
        filename -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        uploaded_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        idempotency_key -> Text,
        kind -> Text,
        ticket_id -> Nullable<BigInt>,
        to_address -> Text,
        to_name -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        template_data -> Nullable<Text>,
    }
}

diesel::table! {
    target_policies (priority) {
        priority -> Text,
        first_response_minutes -> Integer,
        next_response_minutes -> Integer,
        resolution_minutes -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    business_hours (weekday) {
        weekday -> Integer,
        open_minute -> Nullable<Integer>,
        close_minute -> Nullable<Integer>,
    }
}

diesel::table! {
    holidays (holiday_date) {
        holiday_date -> Date,
        name -> Text,
    }
}

diesel::table! {
    job_marks (mark) {
        mark -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(tickets -> customers (customer_id));
diesel::joinable!(tickets -> partners (partner_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(promises -> tickets (ticket_id));
diesel::joinable!(replacements -> tickets (ticket_id));
diesel::joinable!(attachments -> tickets (ticket_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    attachments,
    business_hours,
    canned_responses,
    customers,
    holidays,
    job_marks,
    login_throttle,
    outbox,
    partners,
    promises,
    replacements,
    target_policies,
    ticket_events,
    tickets,
    users,
);
