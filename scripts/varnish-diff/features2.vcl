vcl 4.1;
# For run.sh: a second set of features, loading in Varnish and Shellac alike: vcl_hit and
# vcl_miss decisions, bans and purges from VCL, a forced miss, vmod_cookie, retries on 5xx,
# vcl_backend_error pages, headers set from obj.* and req.* in vcl_deliver.
import std;
import cookie;
backend default { .host = "127.0.0.1"; .port = "8000"; }

sub vcl_recv {
    if (req.method == "PURGE") { return (purge); }
    if (req.http.X-Device == "m" && req.url ~ "^/a") { set req.hash_always_miss = true; }
    if (req.url ~ "^/i" && req.http.X-Lang == "fr") { ban("obj.http.X-Url ~ ^/b"); return (synth(200, "banned")); }
    cookie.parse(req.http.Cookie);
    cookie.keep("sessionid");
    set req.http.Cookie = cookie.get_string();
    if (req.http.Cookie == "") { unset req.http.Cookie; }
    if (req.url ~ "^/s") { set req.url = std.querysort(req.url); }
}

sub vcl_hit {
    if (req.http.X-Lang == "fr" && req.url ~ "^/g") { return (pass); }
    if (obj.ttl < 100s && req.url ~ "^/w") { return (synth(299, "old")); }
}

sub vcl_miss {
    if (req.url ~ "^/u" && req.http.X-Device == "d") { return (synth(404, "No device")); }
}

sub vcl_backend_response {
    set beresp.http.X-Url = bereq.url;
    if (beresp.status >= 500 && bereq.retries < 1) { return (retry); }
    if (bereq.url ~ "^/y") { set beresp.ttl = 10s; set beresp.grace = 1h; }
    if (bereq.url ~ "^/m") { set beresp.status = 200; set beresp.http.Location = "gone"; }
}

sub vcl_backend_error {
    set beresp.http.Content-Type = "text/plain";
    synthetic("error " + beresp.status + " after " + bereq.retries);
    return (deliver);
}

sub vcl_deliver {
    set resp.http.X-Hits = obj.hits;
    set resp.http.X-Had-Vary = obj.uncacheable;
    unset resp.http.X-Url;
}

sub vcl_synth {
    if (resp.status == 299) { set resp.status = 200; set resp.http.X-Old = "1"; }
    set resp.http.Content-Type = "text/plain";
    synthetic(resp.status + " " + resp.reason);
    return (deliver);
}
