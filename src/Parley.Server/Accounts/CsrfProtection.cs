using Microsoft.AspNetCore.Http;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>
/// Every state-changing request that a cookie could have authorised must carry X-CSRF-Token (from
/// GET /api/auth/csrf): with a session, the token of that session; before sign-in (register, login),
/// the token of the pre-session cookie. Requests signed in with an API key carry no ambient
/// authority and need none.
/// </summary>
public static class CsrfProtection
{
    public const string Header = "X-CSRF-Token";

    public static async Task Middleware(HttpContext http, RequestDelegate next)
    {
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method) || Passes(http))
        {
            await next(http);
            return;
        }

        await ApiErrors.WriteAsync(http, new ApiException(403,
            $"Missing or wrong {Header} header: get one from GET /api/auth/csrf and send it with every change.", "permission_error", code: "csrf_failed"));
    }

    private static bool Passes(HttpContext http)
    {
        if (http.User.IsSignedIn())
        {
            string? session = http.User.FindFirst(ParleyClaims.SessionToken)?.Value;
            return session is null || Secrets.Same(http.Request.Headers[Header], Secrets.CsrfToken(session)); // no session token: an API key
        }

        // Anonymous: /v1 without accounts uses no cookie; /api (register, login) is bound to the pre-session cookie.
        if (!http.Request.Path.StartsWithSegments("/api")) return true;
        return http.Request.Cookies[SessionCookie.PreSession] is { Length: > 0 } pre && Secrets.Same(http.Request.Headers[Header], Secrets.CsrfToken(pre));
    }

    /// <summary>The token for this browser, setting the pre-session cookie if it is anonymous and has none.</summary>
    public static string TokenFor(HttpContext http)
    {
        if (http.User.FindFirst(ParleyClaims.SessionToken)?.Value is { } session) return Secrets.CsrfToken(session);
        if (http.Request.Cookies[SessionCookie.PreSession] is not { Length: > 0 } pre)
        {
            pre = Secrets.NewToken();
            SessionCookie.Set(http, SessionCookie.PreSession, pre, null);
        }

        return Secrets.CsrfToken(pre);
    }
}
