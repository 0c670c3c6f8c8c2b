//! Entry identifiers (log.md §1.2): the 64-hex UUID (the leaf hash) and the
//! 80-hex entryID, `pad16(hex(treeID)) ‖ UUID`.

use crate::hash::Hash;
use crate::ids::TreeId;

/// Raised when a string is neither a 64-hex UUID nor an 80-hex entryID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryIdError {
    #[error("an entry ID is 64 or 80 hex characters, got {0}")]
    Length(usize),
    #[error("an entry ID is hexadecimal")]
    NotHex,
    #[error("the tree ID part of an entry ID must be a positive 63-bit number")]
    InvalidTreeId,
}

/// The entryID of the leaf `uuid` in `tree`: the tree ID in lowercase hex,
/// zero-padded to 16 characters, then the UUID in lowercase hex.
pub fn entry_id(tree: TreeId, uuid: &Hash) -> String {
    format!("{:016x}{}", tree.get(), uuid.to_hex())
}

/// Parses what clients send as an ID (`/entries/{entryUUID}`,
/// `entryUUIDs`): a 64-hex UUID (no tree) or an 80-hex entryID. Either case
/// of hex is accepted, as the reference's path pattern does.
///
/// # Errors
/// [`EntryIdError`] for other lengths, non-hex characters, or a tree part
/// that is zero or beyond `i64::MAX`.
pub fn parse_entry_or_uuid(id: &str) -> Result<(Option<TreeId>, Hash), EntryIdError> {
    let (tree, uuid) = match id.len() {
        64 => (None, id),
        80 => {
            let (tree, uuid) = id.split_at_checked(16).ok_or(EntryIdError::NotHex)?;
            (Some(tree), uuid)
        }
        other => return Err(EntryIdError::Length(other)),
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(uuid, &mut bytes).map_err(|_| EntryIdError::NotHex)?;
    let tree = tree
        .map(|hex_id| {
            if !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(EntryIdError::NotHex);
            }
            let value = u64::from_str_radix(hex_id, 16).map_err(|_| EntryIdError::NotHex)?;
            i64::try_from(value)
                .ok()
                .and_then(|v| TreeId::new(v).ok())
                .ok_or(EntryIdError::InvalidTreeId)
        })
        .transpose()?;
    Ok((tree, Hash(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(id: i64) -> TreeId {
        TreeId::new(id).expect("positive")
    }

    #[test]
    fn formats_the_spec_example() {
        let uuid = Hash([0xcd; 32]);
        let id = entry_id(tree(8_050_909_264_565_447_525), &uuid);
        assert_eq!(id, format!("6fba935211532b65{}", "cd".repeat(32)));
        assert_eq!(entry_id(tree(1), &uuid)[..16], *"0000000000000001");
        assert_eq!(entry_id(tree(i64::MAX), &uuid)[..16], *"7fffffffffffffff");
    }

    #[test]
    fn parses_both_forms() {
        let uuid = Hash([0xcd; 32]);
        let id = entry_id(tree(8_050_909_264_565_447_525), &uuid);
        assert_eq!(
            parse_entry_or_uuid(&id),
            Ok((Some(tree(8_050_909_264_565_447_525)), uuid))
        );
        assert_eq!(parse_entry_or_uuid(&uuid.to_hex()), Ok((None, uuid)));
        assert_eq!(
            parse_entry_or_uuid(&id.to_uppercase()),
            Ok((Some(tree(8_050_909_264_565_447_525)), uuid))
        );
    }

    #[test]
    fn rejections() {
        let uuid = "cd".repeat(32);
        assert_eq!(
            parse_entry_or_uuid(&format!("0000000000000000{uuid}")),
            Err(EntryIdError::InvalidTreeId)
        );
        assert_eq!(
            parse_entry_or_uuid(&format!("8000000000000000{uuid}")),
            Err(EntryIdError::InvalidTreeId)
        );
        assert_eq!(
            parse_entry_or_uuid(&format!("+fba935211532b65{uuid}")),
            Err(EntryIdError::NotHex)
        );
        assert_eq!(
            parse_entry_or_uuid(&uuid[1..]),
            Err(EntryIdError::Length(63))
        );
        assert_eq!(parse_entry_or_uuid(""), Err(EntryIdError::Length(0)));
        assert_eq!(
            parse_entry_or_uuid(&format!("{}g", &uuid[1..])),
            Err(EntryIdError::NotHex)
        );
        // Multi-byte characters: 80 bytes but not splittable at 16.
        let odd = format!("é{}", "0".repeat(78));
        assert!(parse_entry_or_uuid(&odd).is_err());
    }
}
