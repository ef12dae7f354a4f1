using Microsoft.AspNetCore.Http;

namespace Parley.Server.Accounts;

/// <summary>
/// The cookies of a browser: the session (HttpOnly, SameSite=Lax, Secure over HTTPS) and, before
/// sign-in, a pre-session secret that the CSRF token of register and login derives from.
/// </summary>
public static class SessionCookie
{
    public const string Name = "parley_session";
    public const string PreSession = "parley_csrf";
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    public static void Set(HttpContext http, string name, string value, DateTimeOffset? expires) =>
        http.Response.Cookies.Append(name, value, Options(http, expires));

    public static void Clear(HttpContext http, string name) => http.Response.Cookies.Delete(name, Options(http, null));

    private static CookieOptions Options(HttpContext http, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Secure = http.Request.IsHttps,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };
}
