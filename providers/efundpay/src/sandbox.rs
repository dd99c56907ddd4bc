//! The eFundPay simulator (feature `sandbox`): see Part B.
