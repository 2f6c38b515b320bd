vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_fetch { # error: 'vcl_fetch' is Varnish 3 syntax
    return (deliver);
}
sub vcl_recv {
    if (req.request == "POST") { # error: 'req.request' is Varnish 3 syntax
        return (pass);
    }
}
