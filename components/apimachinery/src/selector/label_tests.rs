//! Label selector tests: apimachinery's `selector_test.go` cases, the examples of the
//! Kubernetes "Labels and Selectors" page, and kube's exact error texts.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use super::*;

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn parse_err(s: &str) -> String {
    match LabelSelector::parse(s) {
        Ok(sel) => panic!("{s:?} should not parse, got {sel}"),
        Err(e) => e.to_string(),
    }
}

const NAME_PART_REGEX: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_REGEX: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

#[test]
fn parses_the_good_strings_of_selector_test_go() {
    for s in [
        "x=a,y=b,z=c",
        "",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
        "x>1,z<5,a==5",
        "x in (a)",
        "x in (a,b,c)",
        "x notin (a)",
        "x in (,a)",
        "x in (a,)",
        "x in ()",
        "x in (a,,b)",
        "notin=in",
        "in in (in)",
        "example.com/app=web",
        " \t\nx = a \r\n",
    ] {
        parse(s);
    }
}

#[test]
fn rejects_the_bad_strings_of_selector_test_go() {
    for s in [
        "x=a||y=b", "x==a==b", "!x=a", "x<a", "x>1.5", "x in", "x in (a", "x in a", "x=a,", ",x=a",
        "x=(a)", "a b",
    ] {
        parse_err(s);
    }
}

#[test]
fn canonical_strings_sort_keys_and_values() {
    for (input, canonical) in [
        ("", ""),
        ("x=a", "x=a"),
        ("x==a", "x==a"),
        ("  x  !=  a  ", "x!=a"),
        ("z=c,y=b,x=a", "x=a,y=b,z=c"),
        ("x in (c,b,a)", "x in (a,b,c)"),
        ("x in (b,a,b)", "x in (a,b)"),
        ("x notin (b, a)", "x notin (a,b)"),
        ("x in (,a)", "x in (,a)"),
        ("x in ()", "x in ()"),
        ("!x,y", "!x,y"),
        ("x>1,w<5", "w<5,x>1"),
        ("x=", "x="),
    ] {
        assert_eq!(parse(input).to_string(), canonical, "{input:?}");
    }
}

#[test]
fn matching_follows_selector_test_go() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true),
        ("x", &[("x", "z")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x<1", &[("x", "2")], false),
        ("x>1", &[("x", "abc")], false),
        ("x>1", &[], false),
        // != and notin match objects without the key
        ("x!=y", &[], true),
        ("x notin (a,b)", &[], true),
        ("x notin (a,b)", &[("x", "a")], false),
        ("x notin (a,b)", &[("x", "c")], true),
        ("x in (a,b)", &[("x", "b")], true),
        ("x in (a,b)", &[], false),
        ("x=", &[("x", "")], true),
        ("x=", &[], false),
        ("x in (,a)", &[("x", "")], true),
    ];
    for (selector, labels, want) in cases {
        assert_eq!(
            parse(selector).matches(&set(labels)),
            *want,
            "{selector:?} on {labels:?}"
        );
    }
}

#[test]
fn kubernetes_docs_examples() {
    let prod_frontend = set(&[("environment", "production"), ("tier", "frontend")]);
    let qa_backend = set(&[("environment", "qa"), ("tier", "backend")]);
    let dev = set(&[("environment", "dev"), ("partition", "customerA")]);
    let cases: &[(&str, [bool; 3])] = &[
        ("environment = production", [true, false, false]),
        ("tier != frontend", [false, true, true]),
        (
            "environment=production,tier!=frontend",
            [false, false, false],
        ),
        ("environment in (production, qa)", [true, true, false]),
        ("tier notin (frontend, backend)", [false, false, true]),
        ("partition", [false, false, true]),
        ("!partition", [true, true, false]),
        (
            "partition in (customerA, customerB),environment!=qa",
            [false, false, true],
        ),
    ];
    for (selector, want) in cases {
        let sel = parse(selector);
        let got = [
            sel.matches(&prod_frontend),
            sel.matches(&qa_backend),
            sel.matches(&dev),
        ];
        assert_eq!(&got, want, "{selector:?}");
    }
}

#[test]
fn parse_errors_read_like_kubes() {
    let cases = [
        ("x=a b", "found 'b', expected: ',' or 'end of string'".to_owned()),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt".to_owned()),
        ("x=a,", "found '', expected: identifier after ','".to_owned()),
        (",x=a", "found ',', expected: !, identifier, or 'end of string'".to_owned()),
        ("x in a", "unable to parse requirement: found 'a' expected: '('".to_owned()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".to_owned()),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'".to_owned()),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".to_owned()),
        ("x=(a)", "unable to parse requirement: found '(', expected: identifier".to_owned()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".to_owned()),
        ("!", "unable to parse requirement: found '', expected: identifier".to_owned()),
        (
            "x<a",
            r#"unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer"#
                .to_owned(),
        ),
        ("-x=a", format!(r#"unable to parse requirement: <nil>: Invalid value: "-x": {NAME_PART_REGEX}"#)),
        ("x=-a", format!(r#"unable to parse requirement: values[0][x]: Invalid value: "-a": {VALUE_REGEX}"#)),
    ];
    for (selector, want) in cases {
        assert_eq!(parse_err(selector), want, "{selector:?}");
    }
}

#[test]
fn key_and_value_validation() {
    let long = "a".repeat(64);
    assert_eq!(
        parse_err(&format!("x={long}")),
        format!(
            r#"unable to parse requirement: values[0][x]: Invalid value: "{long}": must be no more than 63 characters"#
        )
    );
    parse(&format!("x={}", "a".repeat(63)));
    parse(&format!("{}=x", "k".repeat(63)));
    assert_eq!(
        parse_err(&format!("{long}=x")),
        format!(
            r#"unable to parse requirement: <nil>: Invalid value: "{long}": name part must be no more than 63 characters"#
        )
    );
    parse("example.com/app=web");
    parse("a.b-c.d/A_b.C-9=x");
    assert_eq!(
        parse_err("Example.com/app=web"),
        "unable to parse requirement: <nil>: Invalid value: \"Example.com/app\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    assert_eq!(
        parse_err("/app=web"),
        r#"unable to parse requirement: <nil>: Invalid value: "/app": prefix part must be non-empty"#
    );
    assert_eq!(
        parse_err("example.com/=web"),
        format!(
            r#"unable to parse requirement: <nil>: Invalid value: "example.com/": name part must be non-empty; {NAME_PART_REGEX}"#
        )
    );
    assert!(parse_err("a/b/c").contains(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    ));
    let long_prefix = format!("{}.com/x=y", "a".repeat(250));
    assert!(parse_err(&long_prefix).contains("prefix part must be no more than 253 characters"));
    assert!(parse_err("x=a\u{e9}").contains(r#""aé""#));
    assert!(parse_err("k\u{7}=v").contains(r#""k\a""#));
}

#[test]
fn parse_never_panics_on_odd_input() {
    for s in [
        "\0",
        "x=a\0,garbage(",
        "((((",
        ")))",
        "!!!!x",
        "x in ((a))",
        "x=\u{1F600}",
        "\u{1F600}",
        "x in (a,,,)",
        "==",
        "!=",
        "<>",
        "x in (a)(b)",
    ] {
        let _ = LabelSelector::parse(s);
    }
    // as in Go's lexer, a NUL byte where a token starts ends the input, and one inside a
    // word ends the word
    assert_eq!(parse("x=a \0 y=b(").to_string(), "x=a");
    assert_eq!(
        parse_err("x=a\0y=b"),
        "found 'y', expected: ',' or 'end of string'"
    );
}

#[test]
fn from_label_selector_json() {
    let sel = LabelSelector::from_label_selector(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "team", "operator": "Exists", "values": []},
        ]
    }))
    .unwrap();
    assert_eq!(
        sel.to_string(),
        "app=web,!canary,env notin (prod),team,tier in (a,b)"
    );
    assert!(sel.matches(&set(&[("app", "web"), ("tier", "a"), ("team", "x")])));
    assert!(!sel.matches(&set(&[
        ("app", "web"),
        ("tier", "a"),
        ("team", "x"),
        ("canary", "1")
    ])));
    assert!(!sel.matches(&set(&[("app", "web"), ("tier", "c"), ("team", "x")])));

    let everything = LabelSelector::from_label_selector(&json!({})).unwrap();
    assert!(everything.is_empty() && everything.matches(&set(&[])));
    let everything =
        LabelSelector::from_label_selector(&json!({"matchLabels": {}, "matchExpressions": []}))
            .unwrap();
    assert!(everything.is_empty());
    let nothing = LabelSelector::from_label_selector(&json!(null)).unwrap();
    assert!(nothing.is_nothing() && !nothing.is_empty() && !nothing.matches(&set(&[])));
    assert_eq!(nothing.to_string(), "");
}

#[test]
fn from_label_selector_errors() {
    let err = |v: serde_json::Value| {
        LabelSelector::from_label_selector(&v)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]})),
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        err(
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})
        ),
        r#"values: Invalid value: []string{"x", "y"}: values set must be empty for exists and does not exist"#
    );
    assert_eq!(
        err(
            json!({"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]})
        ),
        r#"values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist"#
    );
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})),
        r#""Gt" is not a valid label selector operator"#
    );
    assert_eq!(
        err(json!({"matchLabels": {"a": "-b"}})),
        format!(r#"values[0][a]: Invalid value: "-b": {VALUE_REGEX}"#)
    );
    assert_eq!(
        err(json!({"matchLabels": {"-a": "b"}})),
        format!(r#"key: Invalid value: "-a": {NAME_PART_REGEX}"#)
    );
    // two problems with one requirement aggregate like utilerrors
    assert_eq!(
        err(json!({"matchExpressions": [{"key": "-a", "operator": "In"}]})),
        format!(
            r#"[key: Invalid value: "-a": {NAME_PART_REGEX}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]"#
        )
    );
    for bad in [
        json!(5),
        json!({"matchLabels": []}),
        json!({"matchLabels": {"a": 1}}),
        json!({"matchExpressions": {}}),
        json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [1]}]}),
    ] {
        assert!(LabelSelector::from_label_selector(&bad).is_err(), "{bad}");
    }
}

#[test]
fn requirement_new_validates_counts() {
    assert!(Requirement::new("a", Operator::Equals, vec![]).is_err());
    assert!(Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()]).is_err());
    assert_eq!(
        Requirement::new("a", Operator::GreaterThan, vec![])
            .unwrap_err()
            .to_string(),
        "values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required"
    );
    let r = Requirement::new("a", Operator::In, vec!["y".into(), "x".into()]).unwrap();
    assert_eq!(
        (r.key(), r.operator(), r.values()),
        ("a", Operator::In, &["y".to_owned(), "x".to_owned()][..])
    );
    assert_eq!(r.to_string(), "a in (x,y)");
    assert_eq!(Operator::DoesNotExist.as_str(), "!");
}

#[test]
fn label_sources() {
    let sel = parse("app=web,tier");
    let mut hash = HashMap::new();
    hash.insert("app".to_owned(), "web".to_owned());
    hash.insert("tier".to_owned(), "x".to_owned());
    assert!(sel.matches(&hash));
    let obj = json!({"metadata": {"labels": {"app": "web", "tier": "x"}}});
    assert!(sel.matches_object(&obj));
    assert!(sel.matches(obj["metadata"]["labels"].as_object().unwrap()));
    // non-string label values count as absent; missing labels are empty
    assert!(!sel.matches_object(&json!({"metadata": {"labels": {"app": "web", "tier": 1}}})));
    assert!(!sel.matches_object(&json!({"metadata": {}})));
    assert!(LabelSelector::everything().matches_object(&json!("not an object")));
}

#[test]
fn exact_match_and_from_set() {
    let sel = parse("b in (x),a=1,c!=2");
    assert_eq!(sel.requires_exact_match("a"), Some("1"));
    assert_eq!(sel.requires_exact_match("b"), Some("x"));
    assert_eq!(sel.requires_exact_match("c"), None);
    assert_eq!(sel.requires_exact_match("d"), None);
    let from_set = LabelSelector::from_set([("b", "2"), ("a", "1")]);
    assert_eq!(from_set.to_string(), "a=1,b=2");
    assert_eq!("a=1".parse::<LabelSelector>().unwrap(), parse("a=1"));
}

#[test]
fn format_labels_sorts_pairs() {
    assert_eq!(format_labels([]), "<none>");
    assert_eq!(format_labels([("b", "2"), ("a", "1")]), "a=1,b=2");
    // kube sorts the joined "k=v" strings, so "a.b=1" comes before "a=1"
    assert_eq!(format_labels([("a", "1"), ("a.b", "1")]), "a.b=1,a=1");
}
