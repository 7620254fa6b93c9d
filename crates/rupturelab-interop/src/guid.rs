//! Stable GUIDs: the same study exported twice gives the same GUIDs, so a
//! colleague's QDA program recognises the same codes, cases and sources.

use uuid::Uuid;

/// RuptureLab's namespace for name-based (v5) UUIDs.
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c2a_9d4e_4f7b_8a21_5e0c_d3b9_7a14);

/// A v5 UUID from the study key, an entity kind and the entity's identity.
pub(crate) fn guid(study: &str, kind: &str, parts: &[&str]) -> String {
    let mut name = String::with_capacity(64);
    name.push_str(study);
    name.push('\u{0}');
    name.push_str(kind);
    for p in parts {
        name.push('\u{0}');
        name.push_str(p);
    }
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_distinct() {
        let a = guid("s", "code", &["Cause"]);
        assert_eq!(a, guid("s", "code", &["Cause"]));
        assert_ne!(a, guid("s", "code", &["Cause/Patient"]));
        assert_ne!(a, guid("t", "code", &["Cause"]));
        assert_ne!(guid("s", "x", &["a", "b"]), guid("s", "x", &["ab"]));
        assert_eq!(a.len(), 36);
    }
}
