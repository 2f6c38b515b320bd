vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_recv {
    if (resp.http.X-Seen) { # error: 'resp.http.X-Seen' is not available in vcl_recv
        return (pass);
    }
}
