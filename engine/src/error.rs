//! What can go wrong in the engine, in words a person can act on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("GStreamer could not start: {0}")]
    Init(String),
    #[error("the GStreamer plugin `{0}` is missing (install gstreamer1.0-plugins-good, -bad and gstreamer1.0-nice)")]
    MissingPlugin(&'static str),
    #[error("the media pipeline could not be built: {0}")]
    Pipeline(String),
    #[error("the session description is not valid SDP: {0}")]
    BadSdp(String),
    #[error("unknown description type `{0}` (expected offer, answer or pranswer; rollback is not supported)")]
    BadSdpType(String),
    #[error("negotiation failed: {0}")]
    Negotiation(String),
    #[error("no such device: {0}")]
    NoDevice(String),
    #[error("the call has ended")]
    Closed,
    #[error("there is no data channel {0} (0 is the chat, 1 the files)")]
    NoDataChannel(u16),
    #[error("data channel {0} is not open")]
    DataClosed(u16),
    #[error("{0} bytes are waiting to be sent; wait for the buffered-low event")]
    DataBusy(u64),
    #[error("a message of {0} bytes is longer than a data channel message may be (64 KiB)")]
    DataTooLarge(usize),
    #[error("a text message must be UTF-8")]
    DataNotText,
    #[error("the data channel could not send: {0}")]
    DataSend(String),
    #[error("the screen cannot be shared: {0}")]
    NoScreen(String),
}

impl From<gst::glib::BoolError> for EngineError {
    fn from(e: gst::glib::BoolError) -> Self {
        EngineError::Pipeline(e.to_string())
    }
}

impl From<gst::glib::Error> for EngineError {
    fn from(e: gst::glib::Error) -> Self {
        EngineError::Pipeline(e.to_string())
    }
}

impl From<gst::StateChangeError> for EngineError {
    fn from(e: gst::StateChangeError) -> Self {
        EngineError::Pipeline(e.to_string())
    }
}
