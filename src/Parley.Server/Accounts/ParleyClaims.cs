using System.Security.Claims;

namespace Parley.Server.Accounts;

/// <summary>What the authentication handler puts on a signed-in request, and how endpoints read it.</summary>
public static class ParleyClaims
{
    public const string Scheme = "Parley";
    public const string AdminRole = "admin";
    /// <summary>How the request proved who it is: "cookie" (needs CSRF checks) or "key".</summary>
    public const string Method = "parley:method";
    /// <summary>The session cookie's token, from which the CSRF token derives.</summary>
    public const string SessionToken = "parley:session";

    public static Guid UserId(this ClaimsPrincipal user) => Guid.Parse(user.FindFirstValue(ClaimTypes.NameIdentifier)!);

    public static bool IsSignedIn(this ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true;
}
