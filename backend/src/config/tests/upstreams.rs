//! `[upstreams.{id}]`, read as a user writes it.

use super::*;

#[test]
fn upstreams_are_read_in_order_with_their_defaults() {
    let text = format!(
        "{BASE}\n[upstreams.notes]\nprefix = \"/api/notes/\"\nurl = \"http://127.0.0.1:9000/notes\"\n\
         [upstreams.chat]\nprefix = \"/api/chat\"\nurl = \"https://chat.internal/ws\"\nlogin = \"optional\"\n\
         access_token = true\ntimeout_secs = 5\nmax_body_bytes = 100"
    );
    let config = load(&text, &[]).unwrap();
    let ids: Vec<_> = config.upstreams.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["notes", "chat"]);
    let notes = &config.upstreams[0];
    assert_eq!(notes.prefix, "/api/notes", "without its trailing slash");
    assert_eq!((notes.login, notes.access_token), (Login::Required, false));
    assert_eq!(notes.timeout.as_secs(), 30);
    let chat = &config.upstreams[1];
    assert_eq!(
        (chat.login, chat.access_token, chat.max_body_bytes),
        (Login::Optional, true, 100)
    );
}

#[test]
fn an_upstream_outside_api_colliding_or_not_http_stops_start_up_naming_the_key() {
    let with = |table: &str| format!("{BASE}\n{table}");
    let cases = [
        (
            "[upstreams.a]\nprefix = \"/notes\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.a.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.a.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/me\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.a.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/login/x\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.a.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/../me\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.a.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/\"\n\
             [upstreams.b]\nprefix = \"/api/x/y\"\nurl = \"http://127.0.0.1:9/\"",
            "upstreams.b.prefix",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"ftp://127.0.0.1/\"",
            "upstreams.a.url",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"not a url\"",
            "upstreams.a.url",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/?q=1\"",
            "upstreams.a.url",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/\"\nlogin = \"maybe\"",
            "upstreams.a.login",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/\"\ntimeout_secs = 0",
            "upstreams.a.timeout_secs",
        ),
        (
            "[upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/\"\nprefx = 1",
            "upstreams.a",
        ),
        ("[assertion]\nttl_secs = 600", "assertion.ttl_secs"),
        ("[assertion]\nkey = \"short\"", "assertion.key"),
    ];
    for (table, key) in cases {
        let err = load(&with(table), &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{table}: {err:?} should name {key}");
    }
    // Separate prefixes that only share letters do not collide.
    let fine = "[upstreams.a]\nprefix = \"/api/note\"\nurl = \"http://127.0.0.1:9/\"\n\
                [upstreams.b]\nprefix = \"/api/notes\"\nurl = \"http://127.0.0.1:9/\"";
    assert!(load(&with(fine), &[]).is_ok());
    // An HTTPS deployment with upstreams signs with a key of its own.
    let https = BASE.replace("http://127.0.0.1:8080", "https://app.example")
        + "\n[session]\nsecret_key = \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"\n\
           [upstreams.a]\nprefix = \"/api/x\"\nurl = \"http://127.0.0.1:9/\"";
    let err = load(&https, &[]).unwrap_err().to_string();
    assert!(err.contains("assertion.key"), "{err}");
}
