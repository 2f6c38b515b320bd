vcl 4.1;
# A clean file: no diagnostics at all.
import std;
import directors;
backend a { .host = "127.0.0.1"; .port = "8001"; }
backend b { .host = "127.0.0.1"; .port = "8002"; }
acl purgers { "localhost"; "192.168.0.0"/16; ! "192.168.0.13"; }
sub vcl_init {
    new pool = directors.round_robin();
    pool.add_backend(a);
    pool.add_backend(b);
}
sub vcl_recv {
    set req.backend_hint = pool.backend();
    if (req.method == "PURGE") {
        if (!client.ip ~ purgers) { return (synth(405)); }
        return (purge);
    }
    set req.url = std.querysort(regsuball(req.url, "[?&](utm_[a-z]+)=[^&]*", ""));
}
sub vcl_backend_response {
    if (beresp.ttl < 1m) { set beresp.ttl = 1m; }
    set beresp.grace = 1h;
}
