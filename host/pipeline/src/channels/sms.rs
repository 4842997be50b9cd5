//! The SMS channel: which alphabet a message needs and how many segments
//! it costs.
//!
//! A message that uses only the GSM 03.38 default alphabet (with its
//! extension table, whose characters take two septets: an escape and the
//! character) is sent as GSM-7: 160 septets in one segment, 153 per segment
//! when concatenated (the user data header takes 7). Anything else needs
//! UCS-2: 70 UTF-16 code units in one segment, 67 per segment when
//! concatenated. A character outside the Basic Multilingual Plane (most
//! emoji) takes two code units, and a segment never splits a surrogate pair
//! or an escape sequence — so the count is done by packing, not by dividing.

use serde::Serialize;

/// The GSM 03.38 default alphabet, in code-point order of its table.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each costs two septets.
const GSM7_EXTENDED: &str = "\u{0C}^{}\\[~]|€";

/// The alphabet a message is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet.
    Gsm7,
    /// UCS-2 (UTF-16 code units).
    Ucs2,
}

/// A message measured for sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// The alphabet.
    pub encoding: Encoding,
    /// Segments it takes.
    pub segments: u32,
    /// Units used: septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: u32,
    /// Characters (Unicode scalar values).
    pub characters: u32,
}

fn gsm7_septets(c: char) -> Option<u32> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Measures `text`: alphabet, segments and units.
pub fn measure(text: &str) -> Measured {
    let characters = text.chars().count() as u32;
    let septets: Option<Vec<u32>> = text.chars().map(gsm7_septets).collect();
    let (encoding, sizes, single, multi) = match septets {
        Some(sizes) => (Encoding::Gsm7, sizes, 160, 153),
        None => (Encoding::Ucs2, text.chars().map(|c| c.len_utf16() as u32).collect(), 70, 67),
    };
    let units: u32 = sizes.iter().sum();
    let segments = if units <= single {
        1
    } else {
        // Pack whole characters: an escape pair or a surrogate pair is never split.
        let mut segments = 1;
        let mut used = 0;
        for size in sizes {
            if used + size > multi {
                segments += 1;
                used = 0;
            }
            used += size;
        }
        segments
    };
    Measured { encoding, segments, units, characters }
}

/// The SMS output file: what a gateway needs, as JSON.
#[derive(Debug, Serialize)]
pub struct SmsMessage<'a> {
    /// Recipient number as the record gives it.
    pub to: &'a str,
    /// Sender name or number from the brand label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    /// The message text.
    pub text: &'a str,
    /// Alphabet, segments, units and characters.
    #[serde(flatten)]
    pub measured: Measured,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> (Encoding, u32, u32) {
        let r = measure(text);
        (r.encoding, r.segments, r.units)
    }

    #[test]
    fn plain_gsm7_fits_160_then_153_per_segment() {
        assert_eq!(m(&"a".repeat(160)), (Encoding::Gsm7, 1, 160));
        assert_eq!(m(&"a".repeat(161)), (Encoding::Gsm7, 2, 161));
        assert_eq!(m(&"a".repeat(306)), (Encoding::Gsm7, 2, 306));
        assert_eq!(m(&"a".repeat(307)), (Encoding::Gsm7, 3, 307));
        assert_eq!(m(""), (Encoding::Gsm7, 1, 0));
    }

    #[test]
    fn gsm7_national_letters_stay_gsm7() {
        assert_eq!(m("Grüße aus Köln, señor Ñoño, Ørsted: ÄÖÜ äöü ß é è à ì ò ù Ç"), (Encoding::Gsm7, 1, 59));
        assert_eq!(measure("£10 @ 5% ¥").encoding, Encoding::Gsm7);
    }

    #[test]
    fn the_extension_table_counts_double() {
        // 80 euro signs are 160 septets: one segment; one more character makes two.
        assert_eq!(m(&"€".repeat(80)), (Encoding::Gsm7, 1, 160));
        assert_eq!(m(&format!("{}a", "€".repeat(80))), (Encoding::Gsm7, 2, 161));
        assert_eq!(m("[{}]~^|\\"), (Encoding::Gsm7, 1, 16));
    }

    #[test]
    fn an_escape_pair_is_never_split_across_segments() {
        // 152 septets, then a euro (2): it cannot start in the first segment's last septet.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        let r = measure(&text);
        assert_eq!((r.encoding, r.units), (Encoding::Gsm7, 306));
        assert_eq!(r.segments, 3, "153 per segment would give 2 only if the escape pair were split");
    }

    #[test]
    fn other_characters_need_ucs2_70_then_67() {
        assert_eq!(m(&"ç".repeat(70)), (Encoding::Ucs2, 1, 70)); // lower-case ç is not in GSM-7
        assert_eq!(m(&"ç".repeat(71)), (Encoding::Ucs2, 2, 71));
        assert_eq!(m(&"ж".repeat(134)), (Encoding::Ucs2, 2, 134));
        assert_eq!(m(&"ж".repeat(135)), (Encoding::Ucs2, 3, 135));
        assert_eq!(m("Ελληνικά"), (Encoding::Ucs2, 1, 8)); // lower-case Greek is not GSM-7
    }

    #[test]
    fn emoji_take_two_units_and_are_not_split() {
        assert_eq!(m(&"😀".repeat(35)), (Encoding::Ucs2, 1, 70));
        // 66 units then an emoji (2): it goes whole into the second segment.
        let text = format!("{}😀", "ж".repeat(66));
        assert_eq!(m(&text), (Encoding::Ucs2, 1, 68));
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(3));
        assert_eq!(m(&text), (Encoding::Ucs2, 2, 71));
    }
}
