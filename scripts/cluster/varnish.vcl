# The caching proxy in front of the cluster's two app servers (scripts/cluster/start.sh starts it;
# docs/scaling.md, "The cluster on one machine"). The rules are those of docs/scaling.md's plan:
# cache only what the app calls public, never a signed-in or pinned reader's page, and forget a
# page the moment its content changes (PURGE with the page's surrogate keys, vmod xkey).
vcl 4.1;

import directors;
import std;
import xkey;

# Both app servers are probed on /healthz/live, not /healthz/ready: the site keeps serving while
# Redis is away (the cache fails open) and serves cached pages while the database is away, so an
# app server that answers at all is worth sending readers to; "ready" failing on both at once (a
# Redis restart) would turn every miss into a 503.
probe live {
    .request = "GET /healthz/live HTTP/1.1"
        "Host: 127.0.0.1"
        "Connection: close"
        "User-Agent: varnish-probe";
    .interval = 1s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

backend app1 {
    .host = "127.0.0.1";
    .port = "8101";
    .probe = live;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

backend app2 {
    .host = "127.0.0.1";
    .port = "8102";
    .probe = live;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

# Who may purge: the app servers, workers and commands, all on this machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_init {
    new apps = directors.round_robin();
    apps.add_backend(app1);
    apps.add_backend(app2);
}

sub vcl_recv {
    set req.backend_hint = apps.backend();

    # PURGE / with `xkey-purge: key1 key2 ...`: drops every object carrying any of those keys
    # (a hard purge: nothing stale stays to be served) and answers 200 with the count.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purging is for this machine only"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "PURGE needs an xkey-purge header naming the keys"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone));
    }

    # Anything but a read goes to an app server as it came, cookies and all.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # The newsroom, sign-in and shared previews are never shared between people.
    if (req.url ~ "^/(admin|accounts|preview)/") {
        return (pass);
    }
    # A signed-in reader (the session's signed companion cookie) or one pinned to the primary after
    # a write (newsapp/replicas.py) gets pages made for them; so does anyone sending credentials.
    if (req.http.Cookie ~ "(^|;)\s*(signedin|pinned)=" || req.http.Authorization) {
        return (pass);
    }
    # Everyone else is a reader like any other: no cookie can change what they are sent, so none
    # is passed on (and none splits the cache).
    unset req.http.Cookie;

    # A little grace, only while no app server is healthy: readers then get the page as it was
    # (at most 10 s old) rather than an error. With a healthy app server a page past its TTL is
    # fetched again at once, so a scheduled story goes live on time.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 0s;
    }
    return (hash);
}

sub vcl_hit {
    set req.http.X-Cache = "HIT";
}

sub vcl_miss {
    set req.http.X-Cache = "MISS";
}

sub vcl_pass {
    set req.http.X-Cache = "PASS";
}

sub vcl_backend_response {
    # The keys vmod xkey indexes the object under: the app's Surrogate-Key header.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    if (bereq.uncacheable) {
        return (deliver);
    }
    # Kept only when the app says public with a lifetime above 0 (TTL = its s-maxage, which it
    # bounds by the next scheduled story), for a 200, or a 301/404 that says public too; never
    # an answer that sets a cookie or says private, no-store or no-cache.
    if (beresp.http.Set-Cookie
        || beresp.http.Cache-Control !~ "(^|,)\s*public\s*(,|$)"
        || beresp.http.Cache-Control ~ "private|no-store|no-cache"
        || beresp.ttl <= 0s
        || (beresp.status != 200 && beresp.status != 301 && beresp.status != 404)) {
        # Hit-for-miss, briefly: the next request goes to an app server, and may be stored.
        set beresp.uncacheable = true;
        set beresp.ttl = 2s;
        set beresp.grace = 0s;
        return (deliver);
    }
    # The app's stale-while-revalidate is for browsers; this proxy keeps 10 s of grace, used only
    # while every app server is sick (vcl_recv).
    set beresp.grace = 10s;
    set beresp.keep = 0s;
    return (deliver);
}

sub vcl_backend_fetch {
    # A retry goes to the other app server, named: the shared round-robin director, moved on by
    # other requests meanwhile, could pick the one that just failed again (a 503 for the reader in
    # the second before the probe finds it sick).
    if (bereq.retries > 0 && bereq.http.X-Failed-Backend) {
        if (bereq.http.X-Failed-Backend == "app1") {
            set bereq.backend = app2;
        } else {
            set bereq.backend = app1;
        }
    }
    unset bereq.http.X-Failed-Backend;
}

sub vcl_backend_error {
    # An app server that cannot be reached (killed, restarting): a read is tried once more, on the
    # other one (vcl_backend_fetch). A write is never sent twice.
    if ((bereq.method == "GET" || bereq.method == "HEAD") && bereq.retries < 1) {
        set bereq.http.X-Failed-Backend = beresp.backend.name;
        return (retry);
    }
}

sub vcl_deliver {
    if (req.http.X-Debug-Keys != "1") {
        unset resp.http.Surrogate-Key;
    }
    unset resp.http.xkey;
    if (req.http.X-Cache == "HIT" && obj.ttl <= 0s) {
        set resp.http.X-Cache = "HIT-GRACE";
    } else {
        set resp.http.X-Cache = req.http.X-Cache;
    }
}

sub vcl_synth {
    # The purge's count, as plain text, for whoever sent it.
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = resp.reason + {"
"};
    return (deliver);
}
