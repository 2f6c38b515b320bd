vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_recv {
    set req.http.A = "1" # error: expected ';'
    set req.http.B = "2";
    if (req.url == "/") {
        unset req.http.Cookie # error: expected ';'
    }
}
