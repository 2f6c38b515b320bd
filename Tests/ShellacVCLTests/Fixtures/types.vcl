vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_backend_response {
    set beresp.ttl = "10s"; # error: cannot set DURATION 'beresp.ttl' to a STRING
    set beresp.grace = 10; # error: cannot set DURATION 'beresp.grace' to an INT
}
