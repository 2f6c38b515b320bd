vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_recv {
    set req.xid = "1"; # error: 'req.xid' is read-only
}
sub vcl_hit {
    set beresp.ttl = 1s; # error: 'beresp.ttl' cannot be set in vcl_hit
}
