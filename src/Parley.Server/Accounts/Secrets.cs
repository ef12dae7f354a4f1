using System.Security.Cryptography;
using System.Text;

namespace Parley.Server.Accounts;

/// <summary>Random tokens and what is derived from them: session cookies, API keys and CSRF tokens.</summary>
public static class Secrets
{
    /// <summary>A new random token: 32 bytes, base64url.</summary>
    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>Hex SHA-256: what is stored of a session token or an API key.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>
    /// The CSRF token of a cookie secret (session or pre-session): an HMAC keyed by the secret, so any
    /// node can check it without storing it, and no other site can compute it without the HttpOnly cookie.
    /// </summary>
    public static string CsrfToken(string secret) =>
        Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "parley-csrf"u8));

    /// <summary>Constant-time comparison of a presented token with the expected one.</summary>
    public static bool Same(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
