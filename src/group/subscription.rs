//! Reads the topic list out of a consumer's JoinGroup metadata (ConsumerProtocolSubscription,
//! versions 0-3). Like Kafka, only the version-0 prefix is read — version, topics, user
//! data — since every later version starts with it; what follows is ignored. Bounded by the
//! input: nothing is allocated before the bytes it describes are known to be there.

/// The subscribed topics, or None if the bytes are not a valid subscription.
pub fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader { buf: metadata };
    let version = r.i16()?;
    if version < 0 {
        return None;
    }
    let count = r.i32()?;
    if count < 0 {
        return None;
    }
    let count = usize::try_from(count).ok()?;
    // Each topic takes at least its 2-byte length.
    if count > r.buf.len() / 2 {
        return None;
    }
    let mut topics = Vec::with_capacity(count);
    for _ in 0..count {
        let len = r.i16()?;
        if len < 0 {
            return None;
        }
        let bytes = r.take(usize::try_from(len).ok()?)?;
        topics.push(String::from_utf8_lossy(bytes).into_owned());
    }
    // User data: nullable bytes (a negative length is null).
    let len = r.i32()?;
    if len >= 0 {
        r.take(usize::try_from(len).ok()?)?;
    }
    Some(topics)
}

/// The partitions in a consumer's SyncGroup assignment (ConsumerProtocolAssignment,
/// versions 0-3: every version starts with version, then (topic, partitions) pairs), sorted;
/// None if the bytes are not a valid assignment. Bounded by the input like
/// [`subscribed_topics`].
pub fn assigned_partitions(assignment: &[u8]) -> Option<Vec<(String, i32)>> {
    let mut r = Reader { buf: assignment };
    if r.i16()? < 0 {
        return None;
    }
    let topics = usize::try_from(r.i32()?).ok()?;
    // Each topic takes at least its 2-byte name length and 4-byte partition count.
    if topics > r.buf.len() / 6 {
        return None;
    }
    let mut out = Vec::new();
    for _ in 0..topics {
        let len = usize::try_from(r.i16()?).ok()?;
        let name = String::from_utf8_lossy(r.take(len)?).into_owned();
        let count = usize::try_from(r.i32()?).ok()?;
        if count > r.buf.len() / 4 {
            return None;
        }
        for _ in 0..count {
            out.push((name.clone(), r.i32()?));
        }
    }
    out.sort();
    Some(out)
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        let b = self.take(2)?;
        Some(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.take(4)?;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
pub(crate) fn encode_subscription(
    version: i16,
    topics: &[&str],
    user_data: Option<&[u8]>,
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        v.extend_from_slice(&(t.len() as i16).to_be_bytes());
        v.extend_from_slice(t.as_bytes());
    }
    match user_data {
        Some(d) => {
            v.extend_from_slice(&(d.len() as i32).to_be_bytes());
            v.extend_from_slice(d);
        }
        None => v.extend_from_slice(&(-1i32).to_be_bytes()),
    }
    if version >= 1 {
        // owned partitions: one topic with one partition
        v.extend_from_slice(&1i32.to_be_bytes());
        v.extend_from_slice(&1i16.to_be_bytes());
        v.push(b'x');
        v.extend_from_slice(&1i32.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
    }
    if version >= 2 {
        v.extend_from_slice(&7i32.to_be_bytes()); // generation id
    }
    if version >= 3 {
        v.extend_from_slice(&(-1i16).to_be_bytes()); // null rack id
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_version() {
        for version in 0..=3 {
            let bytes = encode_subscription(version, &["a", "bb"], Some(b"ud"));
            assert_eq!(
                subscribed_topics(&bytes),
                Some(vec!["a".to_string(), "bb".to_string()]),
                "version {version}"
            );
        }
        let bytes = encode_subscription(0, &[], None);
        assert_eq!(subscribed_topics(&bytes), Some(vec![]));
    }

    #[test]
    fn reads_assignments() {
        // version 1, topics "b" [2, 0] and "a" [1], null user data
        let mut v = vec![
            0, 1, 0, 0, 0, 2, 0, 1, b'b', 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0,
        ];
        v.extend_from_slice(&[0, 1, b'a', 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        let want = vec![("a".into(), 1), ("b".into(), 0), ("b".into(), 2)];
        assert_eq!(assigned_partitions(&v), Some(want));
        for n in 0..v.len() - 4 {
            assert_eq!(assigned_partitions(&v[..n]), None, "prefix {n}");
        }
        assert_eq!(assigned_partitions(&[0, 0, 0x7f, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn rejects_bad_input() {
        let good = encode_subscription(1, &["topic"], Some(b"x"));
        // Every strict prefix that cuts into the v0 part is invalid.
        let v0_len = 2 + 4 + 2 + 5 + 4 + 1;
        for n in 0..v0_len {
            assert_eq!(subscribed_topics(&good[..n]), None, "prefix {n}");
        }
        assert!(subscribed_topics(&good[..v0_len]).is_some());
        // Negative version, negative count, null topic, huge count.
        assert_eq!(
            subscribed_topics(&[0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(subscribed_topics(&[0, 0, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(subscribed_topics(&[0, 0, 0, 0, 0, 1, 0xff, 0xff]), None);
        assert_eq!(
            subscribed_topics(&[0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0]),
            None
        );
        assert_eq!(subscribed_topics(b""), None);
    }

    #[test]
    fn null_user_data_and_lossy_names() {
        let mut bytes = encode_subscription(0, &["t"], None);
        assert_eq!(subscribed_topics(&bytes), Some(vec!["t".to_string()]));
        // Invalid UTF-8 is kept (replacement character), as Java's decoder does.
        bytes[8] = 0xff;
        assert_eq!(
            subscribed_topics(&bytes),
            Some(vec!["\u{fffd}".to_string()])
        );
    }
}
