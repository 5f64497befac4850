//! Text in, typed messages out: the decoders every frame and body goes through.
//!
//! The fast path is one `serde_json` pass. Only when it fails is the text decoded again with
//! `serde_path_to_error` to name the field, and, for a refused decimal, the raw text at that path
//! is re-parsed so the error carries the typed [`ParseDecimalError`](kestrel_types::ParseDecimalError).
//! Nothing here panics on any input (the fuzz tests in `tests/codec_fuzz.rs` hold it to that).

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::error::DecodeError;
use crate::msg::num::parse_decimal;
use crate::msg::{
    AccountPosition, AggTradeMsg, BalanceUpdate, BookTickerMsg, Combined, ControlReply, DepthUpdateMsg,
    EventStreamTerminated, ExecutionReport, ListenKeyExpired, OrderAck, OrderResponse, OrderResult, TradeMsg,
    UserEvent, UserFrame, UserSource, WsApiResponse,
};

/// Decodes `text` as `T`; `what` names the message in errors.
///
/// # Errors
/// [`DecodeError`] naming the message, and the field for data errors.
pub fn decode<'a, T: Deserialize<'a>>(what: &'static str, text: &'a str) -> Result<T, DecodeError> {
    serde_json::from_str(text).map_err(|e| explain::<T>(what, text, &e))
}

/// The slow path: classify the failure and find the field.
#[cold]
fn explain<'a, T: Deserialize<'a>>(what: &'static str, text: &'a str, e: &serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Eof => return DecodeError::Truncated { what, line, column },
        // A fault at the very last byte (`{"code":-` cut after the sign) is a cut text too.
        Category::Syntax if at_end(text, line, column) => {
            return DecodeError::Truncated { what, line, column };
        }
        Category::Syntax | Category::Io => {
            return DecodeError::Syntax { what, line, column, reason: e.to_string() };
        }
        Category::Data => {}
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let located = serde_path_to_error::deserialize::<_, T>(&mut de);
    let Err(pe) = located else {
        return DecodeError::Field { what, path: String::new(), reason: e.to_string() };
    };
    let mut segments: Vec<PathSeg> = pe
        .path()
        .iter()
        .map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => PathSeg::Index(*index),
            serde_path_to_error::Segment::Map { key } => PathSeg::Key(key.clone()),
            serde_path_to_error::Segment::Enum { variant } => PathSeg::Key(variant.clone()),
            serde_path_to_error::Segment::Unknown => PathSeg::Unknown,
        })
        .collect();
    let reason = pe.inner().to_string();
    // A refused decimal: re-parse the raw text there for the typed reason.
    if let Ok(root) = serde_json::from_str::<serde_json::Value>(text) {
        let at = walk(&root, &segments);
        // A `[price, qty]` level: the element at fault (its refusal names price or qty).
        if let Some(serde_json::Value::Array(pair)) = at
            && let Some((i, s, source)) = pair.iter().enumerate().find_map(|(i, v)| {
                let s = v.as_str()?;
                parse_decimal::<Widest>(s).err().map(|e| (i, s, e))
            })
        {
            segments.push(PathSeg::Index(i));
            return DecodeError::Decimal { what, path: render(&segments), text: s.to_owned(), source };
        }
        // Only when the refusal is the decimal's own (`"<text>": <why>`), not an enum's.
        if let Some(serde_json::Value::String(s)) = at
            && let Err(source) = parse_decimal::<Widest>(s)
            && reason.starts_with(&format!("{s:?}"))
        {
            return DecodeError::Decimal { what, path: render(&segments), text: s.clone(), source };
        }
    }
    DecodeError::Field { what, path: render(&segments), reason }
}

/// Whether serde_json's 1-based position is the end of `text`.
fn at_end(text: &str, line: usize, column: usize) -> bool {
    let last_line = text.rsplit('\n').next().unwrap_or("");
    // Only a number can be cut into something invalid rather than incomplete (`-`, `1.`, `1e`).
    let in_number = text.ends_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    in_number && line == text.matches('\n').count() + 1 && column >= last_line.len()
}

/// The widest nano type, so that only the form and the decimals decide (not a type's range).
type Widest = kestrel_types::Money;

enum PathSeg {
    Index(usize),
    Key(String),
    Unknown,
}

fn walk<'v>(root: &'v serde_json::Value, path: &[PathSeg]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        PathSeg::Index(i) => v.get(*i),
        PathSeg::Key(k) => v.get(k.as_str()),
        PathSeg::Unknown => None,
    })
}

fn render(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// A new-order answer of any type (ACK, RESULT, FULL), told apart by the presence of `status`.
///
/// # Errors
/// [`DecodeError`] when the chosen shape does not decode.
pub fn decode_order_response(text: &str) -> Result<OrderResponse<'_>, DecodeError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        status: Option<IgnoredAny>,
    }
    let probe: Probe = decode("order response", text)?;
    if probe.status.is_some() {
        decode::<OrderResult<'_>>("order response", text).map(OrderResponse::Result)
    } else {
        decode::<OrderAck<'_>>("order response (ACK)", text).map(OrderResponse::Ack)
    }
}

/// A market stream message.
#[derive(Clone, Debug)]
pub enum MarketMsg<'a> {
    /// A trade.
    Trade(TradeMsg<'a>),
    /// An aggregate trade.
    AggTrade(AggTradeMsg<'a>),
    /// Best bid and ask.
    BookTicker(BookTickerMsg<'a>),
    /// A depth diff.
    Depth(DepthUpdateMsg<'a>),
    /// The reply to a SUBSCRIBE-type request.
    Control(ControlReply<'a>),
    /// A stream this crate does not decode (kline, ticker, ...): named, not refused.
    Other {
        /// Its `e` (or `"?"` when it has none).
        event: &'a str,
    },
}

/// One market frame: the combined wrapper's stream name when there is one, and the message.
#[derive(Clone, Debug)]
pub struct MarketFrame<'a> {
    /// `Some(name)` on a `/stream` connection.
    pub stream: Option<&'a str>,
    /// The message.
    pub msg: MarketMsg<'a>,
}

#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(default, borrow)]
    e: Option<&'a str>,
    #[serde(default)]
    stream: Option<IgnoredAny>,
    #[serde(default)]
    data: Option<IgnoredAny>,
    #[serde(default)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    u: Option<IgnoredAny>,
    #[serde(default, rename = "subscriptionId")]
    subscription_id: Option<IgnoredAny>,
    #[serde(default)]
    event: Option<IgnoredAny>,
}

/// Decodes a frame of a market stream connection (bare `/ws` or combined `/stream`).
///
/// # Errors
/// [`DecodeError`] for text that is not a well-formed frame of a known shape.
pub fn decode_market(text: &str) -> Result<MarketFrame<'_>, DecodeError> {
    let shape: Shape<'_> = decode("market frame", text)?;
    let (stream, inner, shape) = if shape.stream.is_some() && shape.data.is_some() {
        let c: Combined<'_> = decode("combined frame", text)?;
        let inner = c.data.get();
        (Some(c.stream), inner, decode::<Shape<'_>>("combined data", inner)?)
    } else {
        (None, text, shape)
    };
    let msg = match shape.e {
        Some("trade") => MarketMsg::Trade(decode("trade", inner)?),
        Some("aggTrade") => MarketMsg::AggTrade(decode("aggTrade", inner)?),
        Some("depthUpdate") => MarketMsg::Depth(decode("depthUpdate", inner)?),
        Some(event) => MarketMsg::Other { event },
        None if shape.u.is_some() => MarketMsg::BookTicker(decode("bookTicker", inner)?),
        None if shape.id.is_some() && stream.is_none() => MarketMsg::Control(decode("control reply", inner)?),
        None => MarketMsg::Other { event: "?" },
    };
    Ok(MarketFrame { stream, msg })
}

/// Decodes a user data frame: bare, combined (`stream` = listenKey) or WS-API
/// (`{"subscriptionId":N,"event":{…}}`).
///
/// # Errors
/// [`DecodeError`] for a malformed frame or a malformed known event.
pub fn decode_user(text: &str) -> Result<UserFrame<'_>, DecodeError> {
    #[derive(Deserialize)]
    struct Sub<'a> {
        #[serde(rename = "subscriptionId")]
        subscription_id: u64,
        #[serde(borrow)]
        event: &'a RawValue,
    }
    let shape: Shape<'_> = decode("user frame", text)?;
    let (source, inner) = if shape.subscription_id.is_some() && shape.event.is_some() {
        let s: Sub<'_> = decode("user subscription frame", text)?;
        (UserSource::Subscription(s.subscription_id), s.event.get())
    } else if shape.stream.is_some() && shape.data.is_some() {
        let c: Combined<'_> = decode("user combined frame", text)?;
        (UserSource::Combined(c.stream), c.data.get())
    } else {
        (UserSource::Bare, text)
    };
    Ok(UserFrame { source, event: decode_user_event(inner)? })
}

/// Decodes one bare user data event.
///
/// # Errors
/// [`DecodeError`] for a malformed event or one without `e`.
pub fn decode_user_event(text: &str) -> Result<UserEvent<'_>, DecodeError> {
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(borrow)]
        e: &'a str,
    }
    let kind: Kind<'_> = decode("user event", text)?;
    Ok(match kind.e {
        "executionReport" => {
            UserEvent::Execution(Box::new(decode::<ExecutionReport<'_>>("executionReport", text)?))
        }
        "outboundAccountPosition" => {
            UserEvent::AccountPosition(decode::<AccountPosition<'_>>("outboundAccountPosition", text)?)
        }
        "balanceUpdate" => UserEvent::BalanceUpdate(decode::<BalanceUpdate<'_>>("balanceUpdate", text)?),
        "listenKeyExpired" => {
            UserEvent::ListenKeyExpired(decode::<ListenKeyExpired<'_>>("listenKeyExpired", text)?)
        }
        "eventStreamTerminated" => {
            UserEvent::EventStreamTerminated(decode::<EventStreamTerminated>("eventStreamTerminated", text)?)
        }
        event => UserEvent::Other { event },
    })
}

/// Decodes a WebSocket API answer.
///
/// # Errors
/// [`DecodeError`] for a malformed envelope.
pub fn decode_wsapi(text: &str) -> Result<WsApiResponse<'_>, DecodeError> {
    decode("WS-API response", text)
}

impl<'a> WsApiResponse<'a> {
    /// The result decoded as `T` (`None` when the answer carries none, e.g. an error).
    ///
    /// # Errors
    /// [`DecodeError`] when the result is not a `T`.
    pub fn result_as<T: Deserialize<'a>>(&self, what: &'static str) -> Result<Option<T>, DecodeError> {
        self.result.map(|r| decode(what, r.get())).transpose()
    }
}

/// A live stream control request (`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlMethod {
    /// Start streams.
    Subscribe,
    /// Stop streams.
    Unsubscribe,
    /// List the active streams.
    ListSubscriptions,
}

/// The text frame of a control request: `{"method":…,"params":[…],"id":…}`. Stream names are
/// lower-case symbol + `@` + type (`btcusdt@depth@100ms`), or a listenKey.
pub fn control_request(method: ControlMethod, streams: &[&str], id: u64) -> String {
    let name = match method {
        ControlMethod::Subscribe => "SUBSCRIBE",
        ControlMethod::Unsubscribe => "UNSUBSCRIBE",
        ControlMethod::ListSubscriptions => "LIST_SUBSCRIPTIONS",
    };
    // Written in Binance's documented key order, independent of serde_json's map features.
    if method == ControlMethod::ListSubscriptions {
        format!(r#"{{"method":"{name}","id":{id}}}"#)
    } else {
        let params = serde_json::Value::from(streams.to_vec());
        format!(r#"{{"method":"{name}","params":{params},"id":{id}}}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_without_a_fixture_decode_by_shape() {
        // The WS-API end of a user data subscription (documented shape).
        let f =
            decode_user(r#"{"subscriptionId":0,"event":{"e":"eventStreamTerminated","E":1728973001334}}"#)
                .unwrap();
        assert_eq!(f.source, UserSource::Subscription(0));
        assert_eq!(
            f.event,
            UserEvent::EventStreamTerminated(EventStreamTerminated { event_time: 1_728_973_001_334 })
        );
        // Events this crate does not use are named, not refused.
        let f = decode_user(r#"{"e":"listStatus","E":1,"s":"BTCUSDT"}"#).unwrap();
        assert_eq!(f.event, UserEvent::Other { event: "listStatus" });
        let f = decode_market(r#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":1}}"#).unwrap();
        assert!(matches!(f.msg, MarketMsg::Other { event: "24hrTicker" }));
        // A refused control request.
        let f = decode_market(r#"{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":"abc"}"#)
            .unwrap();
        let MarketMsg::Control(c) = f.msg else { panic!() };
        assert_eq!((c.error.map(|e| e.code), c.id), (Some(2), crate::msg::ControlId::Text("abc")));
        // A user event without `e` is refused with the reason.
        assert!(decode_user(r#"{"E":1}"#).unwrap_err().to_string().contains("missing field `e`"));
    }

    #[test]
    fn control_requests_have_binance_shape() {
        assert_eq!(
            control_request(ControlMethod::Unsubscribe, &["btcusdt@depth@100ms"], 3),
            r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms"],"id":3}"#
        );
        assert_eq!(
            control_request(ControlMethod::ListSubscriptions, &[], 4),
            r#"{"method":"LIST_SUBSCRIPTIONS","id":4}"#
        );
    }
}
