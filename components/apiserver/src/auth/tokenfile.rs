//! `--token-auth-file`: kube's static token file, CSV `token,user,uid[,"group1,group2"]`.

use std::collections::HashMap;
use std::path::Path;

use warren_apimachinery::rbac::UserInfo;

/// Splits one CSV record as Go's encoding/csv does for single-line records: commas separate
/// fields, double quotes enclose a field, `""` inside quotes is a literal quote.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("extraneous \" in field".into());
                    }
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' => return Err("bare \" in non-quoted field".into()),
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("extraneous or missing \" in quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Parses a token file's text into token → user.
pub fn parse(text: &str, path: &str) -> Result<HashMap<String, UserInfo>, String> {
    let mut tokens = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let record = csv_fields(line).map_err(|e| format!("{path}: line {}: {e}", i + 1))?;
        if record.len() < 3 {
            return Err(format!(
                "token file '{path}' must have at least 3 columns (token, user name, user uid), found {}",
                record.len()
            ));
        }
        if record[0].is_empty() {
            tracing::warn!(path, line = i + 1, "empty token in token file");
            continue;
        }
        if tokens.contains_key(&record[0]) {
            tracing::warn!(path, line = i + 1, "duplicate token in token file");
        }
        let groups = match record.get(3) {
            Some(g) => g.split(',').map(str::to_string).collect(),
            None => Vec::new(),
        };
        tokens.insert(
            record[0].clone(),
            UserInfo {
                name: record[1].clone(),
                uid: record[2].clone(),
                groups,
                ..UserInfo::default()
            },
        );
    }
    Ok(tokens)
}

pub fn load(path: &Path) -> Result<HashMap<String, UserInfo>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("token file {}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_token_files() {
        let text = "t1,alice,uid-a,\"dev,ops\"\n\nt2,bob,uid-b\n,empty,x\nt3,\"carol, the \"\"admin\"\"\",uid-c,solo\r\n";
        let t = parse(text, "tokens.csv").expect("parse");
        assert_eq!(t.len(), 3);
        assert_eq!(t["t1"].name, "alice");
        assert_eq!(t["t1"].uid, "uid-a");
        assert_eq!(t["t1"].groups, ["dev", "ops"]);
        assert!(t["t2"].groups.is_empty());
        assert_eq!(t["t3"].name, "carol, the \"admin\"");
        assert_eq!(t["t3"].groups, ["solo"]);
        assert_eq!(
            parse("t1,alice\n", "f").expect_err("2 columns"),
            "token file 'f' must have at least 3 columns (token, user name, user uid), found 2"
        );
        assert!(parse("t1,\"alice,uid\n", "f").is_err());
        assert!(parse("t1,al\"ice,uid\n", "f").is_err());
    }
}
