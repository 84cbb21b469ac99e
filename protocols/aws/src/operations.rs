//! [`aws_operations!`](crate::aws_operations): one list of a service's operation names drives its `Operation`
//! enum, the names, the IAM actions and the lookup, so an operation cannot be added to one and forgotten in
//! another. Kinesis and DynamoDB use it.

/// Defines `pub enum Operation` with `ALL`, `name()` (the wire name), `iam_action()` (`"<prefix>:<Name>"`) and
/// `from_name()` (exact, case-sensitive, as AWS matches), from the IAM prefix and the operation names.
#[macro_export]
macro_rules! aws_operations {
    ($prefix:literal; $($op:ident),+ $(,)?) => {
        /// An API operation of the service. Its `Debug` form and [`Operation::name`] are the wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($op,)+
        }

        impl Operation {
            /// Every operation, in the order listed.
            pub const ALL: &'static [Operation] = &[$(Operation::$op,)+];

            /// The operation's wire name, e.g. `"PutRecords"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Operation::$op => stringify!($op),)+
                }
            }

            /// The IAM action of the operation, e.g. `"kinesis:PutRecords"` (access-denied messages, audits).
            pub fn iam_action(self) -> &'static str {
                match self {
                    $(Operation::$op => concat!($prefix, ":", stringify!($op)),)+
                }
            }

            /// Looks an operation up by its exact wire name; AWS matches names case-sensitively.
            pub fn from_name(name: &str) -> Option<Operation> {
                match name {
                    $(stringify!($op) => Some(Operation::$op),)+
                    _ => None,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    // The macro defines a service's public API; here it is private to the test.
    #[allow(unreachable_pub)]
    mod svc {
        crate::aws_operations!("svc"; GetThing, PutThing);
    }
    use svc::Operation;

    #[test]
    fn one_list_drives_names_actions_and_lookup() {
        assert_eq!(Operation::ALL, &[Operation::GetThing, Operation::PutThing]);
        assert_eq!(Operation::PutThing.name(), "PutThing");
        assert_eq!(Operation::PutThing.iam_action(), "svc:PutThing");
        assert_eq!(Operation::from_name("GetThing"), Some(Operation::GetThing));
        assert_eq!(Operation::from_name("getthing"), None);
    }
}
