//! The e-Buy simulator (feature `sandbox`): see Part B.
