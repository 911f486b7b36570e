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

diesel::allow_tables_to_appear_in_same_query!(login_throttle, users);
