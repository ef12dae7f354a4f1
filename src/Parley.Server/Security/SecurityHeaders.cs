using Microsoft.AspNetCore.Http;

namespace Parley.Server.Security;

/// <summary>
/// Headers on every response: a Content-Security-Policy the web app passes (its own scripts only, no
/// framing), no MIME sniffing, no referrer leaks, and HSTS when served over HTTPS.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static Task Middleware(HttpContext http, RequestDelegate next)
    {
        var h = http.Response.Headers;
        h.ContentSecurityPolicy = ContentSecurityPolicy;
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        if (http.Request.IsHttps) h.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
        return next(http);
    }
}
