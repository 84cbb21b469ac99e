//! The principal of a TLS client certificate, as Apache Kafka derives it: the subject DN in RFC 2253 form (what
//! Java's `X500Principal.getName()` prints, e.g. `CN=client,OU=eng,O=Acme`), then Kafka's
//! `ssl.principal.mapping.rules` (`RULE:pattern/replacement/[LU]`, `DEFAULT`).
//!
//! Rules use Rust's `regex` syntax, which covers what mapping rules are written with (groups, classes, lazy
//! quantifiers, anchors) but not look-around or back-references; such a rule is refused when the configuration
//! loads. Replacements are Java's: `$n` is group n (an out-of-range `$n` is literal, as Kafka treats it), `\x` is
//! a literal x.

use std::fmt::Write as _;

use regex::Regex;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a mapping rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(
        "invalid rule `{0}`: expected `DEFAULT` or `RULE:pattern/replacement/` with an optional L or U"
    )]
    Syntax(String),
    #[error("invalid pattern in rule `{rule}`: {source}")]
    Pattern {
        rule: String,
        #[source]
        source: Box<regex::Error>,
    },
}

/// Why a certificate yields no principal.
#[derive(Debug, thiserror::Error)]
pub enum PrincipalError {
    #[error("the client certificate cannot be parsed: {0}")]
    Parse(String),
    #[error("no principal mapping rule applies to {0}")]
    NoMatchingRule(String),
}

#[derive(Debug, Clone)]
enum Rule {
    Default,
    Map {
        /// The pattern, anchored: Kafka applies a rule only when the whole DN matches (`Matcher.matches()`).
        whole: Regex,
        /// The pattern as written, for the replacement (Kafka's `replaceAll`).
        pattern: Regex,
        /// The replacement in `regex` syntax.
        replacement: String,
        case: Case,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

/// Kafka's `SslPrincipalMapper`: the first rule that applies gives the name.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

impl PrincipalMapper {
    /// Parses rules, one per entry (blank entries are ignored, as Kafka ignores empty rules).
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<PrincipalMapper, RuleError> {
        let rules = rules
            .iter()
            .map(|r| r.as_ref().trim())
            .filter(|r| !r.is_empty())
            .map(parse_rule)
            .collect::<Result<_, _>>()?;
        Ok(PrincipalMapper { rules })
    }

    /// The principal name for `dn`.
    pub fn map(&self, dn: &str) -> Result<String, PrincipalError> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(dn.to_string()),
                Rule::Map {
                    whole,
                    pattern,
                    replacement,
                    case,
                } => {
                    if !whole.is_match(dn) {
                        continue;
                    }
                    let out = pattern.replace_all(dn, replacement.as_str()).into_owned();
                    return Ok(match case {
                        Case::Keep => out,
                        Case::Lower => out.to_lowercase(),
                        Case::Upper => out.to_uppercase(),
                    });
                }
            }
        }
        Err(PrincipalError::NoMatchingRule(dn.to_string()))
    }

    /// The principal name of the client certificate `der`.
    pub fn map_certificate(&self, der: &[u8]) -> Result<String, PrincipalError> {
        self.map(&subject_dn(der)?)
    }
}

fn parse_rule(rule: &str) -> Result<Rule, RuleError> {
    if rule == "DEFAULT" {
        return Ok(Rule::Default);
    }
    let syntax = || RuleError::Syntax(rule.to_string());
    let body = rule.strip_prefix("RULE:").ok_or_else(syntax)?;
    let (pattern, rest) = split_unescaped_slash(body).ok_or_else(syntax)?;
    let (replacement, flags) = split_unescaped_slash(rest).ok_or_else(syntax)?;
    let case = match flags {
        "" => Case::Keep,
        "L" => Case::Lower,
        "U" => Case::Upper,
        _ => return Err(syntax()),
    };
    let compile = |p: &str| {
        Regex::new(p).map_err(|e| RuleError::Pattern {
            rule: rule.to_string(),
            source: Box::new(e),
        })
    };
    let pattern = compile(pattern)?;
    let whole = compile(&format!("^(?:{})$", pattern.as_str()))?;
    let groups = pattern.captures_len() - 1;
    Ok(Rule::Map {
        whole,
        pattern,
        replacement: java_replacement(replacement, groups),
        case,
    })
}

/// Splits at the first `/` not escaped by a backslash; escapes stay in the first part (the regex reads them).
fn split_unescaped_slash(s: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '/' => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

/// A Java `replaceAll` replacement in `regex` crate syntax: `$n` → `${n}` (the longest prefix of the digits that
/// names an existing group, or a literal `$` when none does, as Kafka does), `\x` → `x`, a literal `$` → `$$`.
fn java_replacement(java: &str, groups: usize) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let mut n = digits.len();
                while n > 0 && !digits[..n].parse::<usize>().is_ok_and(|g| g <= groups) {
                    n -= 1;
                }
                if n == 0 || groups == 0 {
                    out.push_str("$$");
                    out.push_str(&digits);
                } else {
                    let _ = write!(out, "${{{}}}", &digits[..n]);
                    out.push_str(&digits[n..]);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The subject DN of a DER certificate in RFC 2253 form, as Java prints it: the last RDN first, `,` between
/// RDNs, `+` inside a multi-valued one; the keywords CN, C, L, ST, O, OU, STREET, DC and UID, other attributes
/// as a dotted OID with `#` and the value's DER in hex.
pub fn subject_dn(der: &[u8]) -> Result<String, PrincipalError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| PrincipalError::Parse(e.to_string()))?;
    let mut rdns = Vec::new();
    for rdn in cert.subject().iter() {
        let mut parts = Vec::new();
        for atv in rdn.iter() {
            let oid = atv.attr_type().to_id_string();
            let value = atv.attr_value();
            let text = match value.tag() {
                Tag::NumericString | Tag::PrintableString | Tag::Utf8String | Tag::Ia5String => {
                    std::str::from_utf8(value.data).ok().map(str::to_string)
                }
                Tag::BmpString => utf16be(value.data),
                _ => None,
            };
            let part = match (keyword(&oid), text) {
                (Some(k), Some(t)) => format!("{k}={}", escape_rfc2253(&t)),
                (k, _) => {
                    let mut hex = String::from("#");
                    for b in der_of(value.tag().0, value.data) {
                        let _ = write!(hex, "{b:02x}");
                    }
                    format!("{}={hex}", k.map_or(oid.clone(), str::to_string))
                }
            };
            parts.push(part);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn utf16be(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// A universal-class primitive value's DER: tag, definite length, content.
fn der_of(tag: u32, data: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::try_from(tag).unwrap_or(0x04)];
    let len = data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(data);
    out
}

/// Java's RFC 2253 escaping: `,=+<>#;"\` get a backslash, as do leading and trailing spaces.
fn escape_rfc2253(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let chars: Vec<char> = value.chars().collect();
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    let trail = chars.iter().rev().take_while(|c| **c == ' ').count();
    for (i, c) in chars.iter().enumerate() {
        let edge_space = *c == ' ' && (i < lead || i >= chars.len() - trail);
        if ",=+<>#;\"\\".contains(*c) || edge_space {
            out.push('\\');
        }
        if *c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper(rules: &[&str]) -> PrincipalMapper {
        PrincipalMapper::parse(rules).expect("rules parse")
    }

    #[test]
    fn kafka_mapper_examples() {
        // The cases of Kafka's own SslPrincipalMapperTest.
        let m = mapper(&[
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
            "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
            "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
            "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
            "DEFAULT",
        ]);
        let map = |dn: &str| m.map(dn).expect("a rule applies");
        assert_eq!(map("CN=Duke,OU=ServiceUsers,O=Org,C=US"), "duke");
        assert_eq!(map("CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US"), "duke@sme");
        assert_eq!(map("cn=duke,ou=sme,dc=mycp,dc=com"), "DUKE@SME");
        assert_eq!(map("cN=duke,OU=JavaSoft,O=Sun Microsystems"), "DUKE");
        assert_eq!(
            map("OU=JavaSoft,O=Sun Microsystems,C=US"),
            "OU=JavaSoft,O=Sun Microsystems,C=US"
        );
    }

    #[test]
    fn escaped_commas_and_missing_rules() {
        let m = mapper(&[r"RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/"]);
        assert_eq!(
            m.map(r"CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz")
                .expect("maps"),
            r"Tkac\, Adam"
        );
        assert!(matches!(
            m.map("OU=nobody"),
            Err(PrincipalError::NoMatchingRule(_))
        ));
        assert!(
            mapper(&[]).map("CN=x").is_err(),
            "no rules: nothing applies"
        );
        assert_eq!(mapper(&["DEFAULT"]).map("CN=x").expect("default"), "CN=x");
    }

    #[test]
    fn invalid_rules_are_refused() {
        for bad in [
            "default",
            "DEFAUL",
            "DEFAULT/L",
            "RULE:CN=(.*?),OU=ServiceUsers.*/$1",
            "rule:^CN=(.*?)$/$1/",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
            "RULE:^CN=(?=x)/$1/",
        ] {
            assert!(PrincipalMapper::parse(&[bad]).is_err(), "accepted {bad:?}");
        }
        assert!(PrincipalMapper::parse(&["RULE:^CN=(.*?)$/$1/", " ", "DEFAULT"]).is_ok());
    }

    #[test]
    fn replacements_follow_java() {
        // $2 with one group is literal (Kafka's rule); `$1a` is group 1 then `a`; `\$` is a dollar.
        let m = mapper(&[r"RULE:^CN=(\w+)$/$1a-$2-\$/"]);
        assert_eq!(m.map("CN=bob").expect("maps"), "boba-$2-$");
        let m = mapper(&[r"RULE:^CN=a\/b$/slash/"]);
        assert_eq!(m.map("CN=a/b").expect("escaped slash"), "slash");
    }

    #[test]
    fn dn_escaping_follows_rfc2253() {
        assert_eq!(escape_rfc2253("Tkac, Adam"), r"Tkac\, Adam");
        assert_eq!(escape_rfc2253(" a=b+c "), r"\ a\=b\+c\ ");
        assert_eq!(escape_rfc2253("plain"), "plain");
    }

    #[test]
    fn subject_dn_of_a_generated_certificate() {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "US");
        dn.push(rcgen::DnType::OrganizationName, "Acme, Inc");
        dn.push(rcgen::DnType::OrganizationalUnitName, "eng");
        dn.push(rcgen::DnType::CommonName, "client");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let dn = subject_dn(cert.der()).expect("parses");
        assert_eq!(dn, r"CN=client,OU=eng,O=Acme\, Inc,C=US");
        let m = mapper(&["RULE:^CN=([^,]+),.*$/$1/U"]);
        assert_eq!(m.map_certificate(cert.der()).expect("maps"), "CLIENT");
        assert!(subject_dn(b"not a certificate").is_err());
    }
}
