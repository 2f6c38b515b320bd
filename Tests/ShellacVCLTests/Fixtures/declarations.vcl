vcl 4.1;
backend default { .host = "127.0.0.1"; }
backend spare { .host = "127.0.0.2"; } # warning: backend 'spare' is never used
backend broken { .hots = "127.0.0.1"; } # error: unknown backend property '.hots'
backend proxied { .host = "127.0.0.1"; .proxy_header = 3; } # error: .proxy_header takes 1 or 2 (the PROXY protocol version)
acl office { "10.0.0.0"/40; } # error: prefix length /40 is longer than the address
sub vcl_recv {
    set req.backend_hint = broken;
    set req.backend_hint = proxied;
    if (client.ip ~ office) { return (pass); }
}
