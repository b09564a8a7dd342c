//! The PostgreSQL glue every subsystem stands on: running SQL through SPI with the snapshot
//! rules of PL/pgSQL (`spi`), converting dates and times (`datum`), raising problems as
//! errors with their SQLSTATE (`raise`), subtransactions (`subxact`), who is calling and
//! whose rights a source is read with (`identity`), catalog lookups (`catalog`), and the
//! extension's settings (`guc`).

pub mod catalog;
pub mod datum;
pub mod guc;
pub mod identity;
pub mod jsonb_text;
pub mod raise;
pub mod spi;
pub mod subxact;
pub mod timeout;
