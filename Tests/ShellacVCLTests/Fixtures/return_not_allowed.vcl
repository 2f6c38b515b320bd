vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub vcl_recv {
    return (lookup); # error: return(lookup) is not allowed in vcl_recv
}
