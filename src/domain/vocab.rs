//! The closed vocabularies of a ticket: kind, channel, category, priority, solution type,
//! partner kind. Each is stored and sent as its lowercase snake_case name.

/// Declares an enum whose variants map one-to-one to stored strings.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        // ToSchema: the API document lists the allowed values, so clients (and the fuzzer) see them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored or submitted value; the error lists what is allowed.
            pub fn parse(raw: &str) -> Result<Self, String> {
                match raw.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{}' is not one of: {}",
                        other,
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary!(
    /// What the customer brought: a complaint walks the whole playbook; feedback (praise,
    /// suggestion) and questions take shorter paths.
    Kind { Complaint => "complaint", Feedback => "feedback", Question => "question" }
);

vocabulary!(
    /// Where the customer reached the shop.
    Channel {
        Whatsapp => "whatsapp",
        Instagram => "instagram",
        Facebook => "facebook",
        Marketplace => "marketplace",
        Email => "email",
        Phone => "phone",
        Web => "web",
        WalkIn => "walk_in",
        Other => "other",
    }
);

vocabulary!(
    Category {
        LateDelivery => "late_delivery",
        WrongItem => "wrong_item",
        WrongSizeOrColour => "wrong_size_or_colour",
        Defective => "defective",
        DamagedInTransit => "damaged_in_transit",
        MissingItem => "missing_item",
        Service => "service",
        Billing => "billing",
        Praise => "praise",
        Suggestion => "suggestion",
        Other => "other",
    }
);

vocabulary!(
    Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" }
);

vocabulary!(
    SolutionType {
        Refund => "refund",
        Replacement => "replacement",
        Repair => "repair",
        Voucher => "voucher",
        Explanation => "explanation",
        Other => "other",
    }
);

vocabulary!(
    /// How a partner sells the shop's goods (see PLAYBOOK.md).
    PartnerKind {
        Reseller => "reseller",
        Dropshipper => "dropshipper",
        Stockist => "stockist",
        Agent => "agent",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Ok(*c));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(*c));
        }
        let err = Priority::parse("panic").unwrap_err();
        assert!(err.contains("low, normal, high, urgent"));
        assert_eq!(
            serde_json::to_string(&Channel::WalkIn).unwrap(),
            "\"walk_in\""
        );
    }

    use crate::domain::playbook::Stage;
    use crate::domain::replacement::ReplacementStatus;

    /// The API document lists each vocabulary by its serde names; they must be the very words
    /// `parse` accepts, or a client following the document would be refused.
    fn document_names_are_accepted<T>(all: &[T], parse: fn(&str) -> Result<T, String>)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize,
    {
        for value in all {
            let name = serde_json::to_value(value).unwrap();
            let name = name.as_str().expect("a vocabulary serializes as a string");
            assert_eq!(parse(name), Ok(*value), "{name}");
        }
    }

    #[test]
    fn every_vocabulary_is_documented_by_the_words_it_accepts() {
        document_names_are_accepted(Kind::ALL, Kind::parse);
        document_names_are_accepted(Channel::ALL, Channel::parse);
        document_names_are_accepted(Category::ALL, Category::parse);
        document_names_are_accepted(Priority::ALL, Priority::parse);
        document_names_are_accepted(SolutionType::ALL, SolutionType::parse);
        document_names_are_accepted(PartnerKind::ALL, PartnerKind::parse);
        document_names_are_accepted(Stage::ALL, Stage::parse);
        document_names_are_accepted(ReplacementStatus::ALL, ReplacementStatus::parse);
        document_names_are_accepted(
            &crate::domain::user::Role::ALL,
            crate::domain::user::Role::parse,
        );
        for locale in [crate::config::Locale::Id, crate::config::Locale::En] {
            let name = serde_json::to_value(locale).unwrap();
            assert_eq!(
                crate::config::Locale::parse(name.as_str().unwrap()),
                Some(locale)
            );
        }
    }
}
