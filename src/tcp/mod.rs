//! TCP reassembly: sequence arithmetic, per-direction reassembly, the connection table.

pub mod reassembly;
pub mod seq;
pub mod table;

pub use reassembly::{Chunk, DirLimits, DirStats};
pub use seq::SeqNumber;
pub use table::{
    CloseReason, ConnId, ConnInfo, ConnectionHandler, Interest, Side, TcpConfig, TcpEvent,
    TcpStats, TcpTable,
};
