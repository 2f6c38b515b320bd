vcl 4.1;
# For run.sh: loads in Varnish and Shellac alike and exercises request rewriting, restarts,
# synth redirects, vcl_hash, Vary changed and removed in vcl_backend_response, hit-for-miss,
# hit-for-pass, TTL overrides and vcl_deliver.
import std;
backend default { .host = "127.0.0.1"; .port = "8000"; }

sub vcl_recv {
    if (req.http.Cookie) {
        set req.http.Cookie = regsuball(req.http.Cookie, "(^|;\s*)(_ga|utm_[a-z]+)=[^;]*", "");
        set req.http.Cookie = regsub(req.http.Cookie, "^;\s*", "");
        if (req.http.Cookie == "") { unset req.http.Cookie; }
    }
    if (req.url ~ "^/[ab]") { unset req.http.Cookie; }
    if (req.url ~ "^/k") { return (pass); }
    if (req.http.X-Lang == "fr" && req.url ~ "^/m") { return (synth(750, "/fr" + req.url)); }
    if (req.url ~ "^/q" && req.restarts == 0) { set req.url = "/a?cc=max-age%3D300"; return (restart); }
    if (req.http.Authorization && req.url ~ "^/g") { unset req.http.Authorization; }
}

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) { hash_data(req.http.host); } else { hash_data(server.ip); }
    if (req.http.Cookie ~ "sessionid") { hash_data("logged-in"); }
    return (lookup);
}

sub vcl_backend_response {
    if (bereq.url ~ "^/b") { set beresp.http.Vary = "X-Device"; }
    if (bereq.url ~ "^/c") { unset beresp.http.Vary; }
    if (bereq.url ~ "^/d") { unset beresp.http.Cache-Control; set beresp.ttl = 300s; return (deliver); }
    if (bereq.url ~ "^/f") { unset beresp.http.Set-Cookie; }
    if (bereq.url ~ "^/i") { set beresp.ttl = 0s; set beresp.uncacheable = true; return (deliver); }
    if (bereq.url ~ "^/j") { return (pass(60s)); }
    if (bereq.url ~ "^/l") { set beresp.http.Vary = beresp.http.Vary + ", X-Lang"; }
    set beresp.http.X-Url = bereq.url;
}

sub vcl_deliver {
    set resp.http.X-Hits = obj.hits;
    unset resp.http.X-Url;
    if (resp.http.Vary) { set resp.http.X-Had-Vary = resp.http.Vary; }
}

sub vcl_synth {
    if (resp.status == 750) {
        set resp.http.Location = resp.reason;
        set resp.status = 302;
        return (deliver);
    }
}
