//! The closed vocabularies of a ticket: kind, channel, category, priority, solution type,
//! partner kind. Each is stored and sent as its lowercase snake_case name.

/// Declares an enum whose variants map one-to-one to stored strings.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
}
