//! A `jsonb` argument as the text PostgreSQL prints for it. pgrx's `JsonB` parses that text
//! itself before the function runs and panics (XX000, HTTP 500) on what serde refuses, such as
//! arrays nested deeper than 128 levels; with `JsonbText` the function parses it and answers
//! such a payload with a clear 22023.

use std::ffi::CStr;

use pgrx::callconv::{Arg, ArgAbi};
use pgrx::nullable::Nullable;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::FromDatum;

use crate::common::problem::{Outcome, Problem, SqlState};

/// The text of a `jsonb` value (always valid JSON: PostgreSQL printed it), and the argument's
/// datum itself, valid for the function call, to hand the value to SPI without printing and
/// parsing it again.
pub struct JsonbText {
    pub text: String,
    pub datum: pg_sys::Datum,
}

impl FromDatum for JsonbText {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let text =
            unsafe { pgrx::direct_function_call::<&CStr>(pg_sys::jsonb_out, &[Some(datum)]) }
                .expect("jsonb_out returns text for a jsonb");
        Some(JsonbText {
            text: text.to_string_lossy().into_owned(),
            datum,
        })
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbText {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe { arg.unbox_arg_using_from_datum() }
            .unwrap_or_else(|| panic!("argument {index} must not be null"))
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum() }.into()
    }
}

unsafe impl SqlTranslatable for JsonbText {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(JsonbText);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}

impl JsonbText {
    /// The value as an SPI argument of type jsonb.
    pub fn argument(&self) -> pgrx::datum::DatumWithOid<'_> {
        // SAFETY: the datum is this call's jsonb argument, which outlives the statements run
        // with it.
        unsafe { pgrx::datum::DatumWithOid::new(self.datum, pg_sys::JSONBOID) }
    }

    /// The value, or why it cannot be read (`what` names the argument).
    pub fn parse(&self, what: &str) -> Outcome<serde_json::Value> {
        serde_json::from_str(&self.text).map_err(|e| {
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("{what} cannot be read: {e}"),
            )
            .hint("JSON nested deeper than 128 levels is refused; GitHub's payloads nest a few levels")
        })
    }
}

/// A `json` result given as JSON text, sent to the client as it is: what the read API
/// returns, assembled as text around stored payloads that are never parsed in Rust. `json`,
/// not `jsonb`: parsing a year of trend points into `jsonb` and printing it again cost about
/// 2 ms a call, more than reading them (bench/readmodel); the text is valid JSON by
/// construction (serde_json and stored jsonb values), and the answers' key order is the
/// documented one.
pub struct JsonOut(pub String);

impl pgrx::IntoDatum for JsonOut {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        self.0.into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONOID
    }
}

unsafe impl pgrx::callconv::BoxRet for JsonOut {
    unsafe fn box_into<'fcx>(
        self,
        fcinfo: &mut pgrx::callconv::FcInfo<'fcx>,
    ) -> pgrx::datum::Datum<'fcx> {
        match pgrx::IntoDatum::into_datum(self) {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

unsafe impl SqlTranslatable for JsonOut {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(JsonOut);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("json"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("json")));
}
