// SPDX-License-Identifier: GPL-2.0

//! A tiny getopt: short options, bundled (`-fq`) or not, with values attached (`-N64`) or
//! separate (`-N 64`), `--` ending the options, and the remaining arguments as operands.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// One parsed option: its letter and, for options that take one, its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opt {
    /// The option letter.
    pub letter: char,
    /// The value, for options that take one.
    pub value: Option<OsString>,
}

/// Parsed command line: options in order, then operands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedArgs {
    /// Options, in the order given.
    pub options: Vec<Opt>,
    /// Arguments that are not options.
    pub operands: Vec<OsString>,
}

/// Parses `args` (without the program name). `flags` lists the option letters without a value,
/// `with_value` those that take one. Options and operands may be interleaved, as with GNU getopt.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    flags: &str,
    with_value: &str,
) -> Result<ParsedArgs, String> {
    let mut parsed = ParsedArgs::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            parsed.operands.extend(args.by_ref());
            break;
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            parsed.operands.push(arg);
            continue;
        }
        if bytes[1] == b'-' {
            return Err(format!(
                "unknown option '{}'",
                String::from_utf8_lossy(bytes)
            ));
        }
        let mut rest = &bytes[1..];
        while let Some((&first, tail)) = rest.split_first() {
            let letter = char::from(first);
            if flags.contains(letter) && first.is_ascii_alphanumeric() {
                parsed.options.push(Opt {
                    letter,
                    value: None,
                });
                rest = tail;
            } else if with_value.contains(letter) && first.is_ascii_alphanumeric() {
                let value = if tail.is_empty() {
                    args.next()
                        .ok_or_else(|| format!("option '-{letter}' needs a value"))?
                } else {
                    OsString::from(std::ffi::OsStr::from_bytes(tail))
                };
                parsed.options.push(Opt {
                    letter,
                    value: Some(value),
                });
                break;
            } else {
                return Err(format!("unknown option '-{}'", first.escape_ascii()));
            }
        }
    }
    Ok(parsed)
}

/// The `main` of a tool: parses the command line (without the program name) with `parse`; a
/// usage error prints the message and `usage` and exits with `usage_exit`. Then `run` runs the
/// command; an error prints the message and exits 1.
pub fn tool_main<C>(
    program: &str,
    usage: &str,
    usage_exit: u8,
    parse: impl FnOnce(Vec<OsString>) -> Result<C, String>,
    run: impl FnOnce(C) -> Result<(), String>,
) -> std::process::ExitCode {
    let command = match parse(std::env::args_os().skip(1).collect()) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{program}: {message}\n{usage}");
            return std::process::ExitCode::from(usage_exit);
        }
    };
    match run(command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{program}: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn opt(letter: char, value: Option<&str>) -> Opt {
        Opt {
            letter,
            value: value.map(OsString::from),
        }
    }

    #[test]
    fn parses_bundles_values_and_operands() {
        let parsed = parse(args(&["-fq", "-N64", "dev", "-L", "my label"]), "fq", "NL").unwrap();
        assert_eq!(
            parsed.options,
            vec![
                opt('f', None),
                opt('q', None),
                opt('N', Some("64")),
                opt('L', Some("my label"))
            ]
        );
        assert_eq!(parsed.operands, args(&["dev"]));
    }

    #[test]
    fn double_dash_ends_options() {
        let parsed = parse(args(&["-n", "--", "-y"]), "ny", "").unwrap();
        assert_eq!(parsed.options, vec![opt('n', None)]);
        assert_eq!(parsed.operands, args(&["-y"]));
        assert_eq!(parse(args(&["-"]), "", "").unwrap().operands, args(&["-"]));
    }

    #[test]
    fn rejects_unknown_and_incomplete_options() {
        assert!(parse(args(&["-x"]), "n", "").is_err());
        assert!(parse(args(&["--long"]), "n", "").is_err());
        assert!(parse(args(&["-N"]), "", "N").is_err());
        assert!(parse(args(&["-n?"]), "n", "").is_err());
    }
}
