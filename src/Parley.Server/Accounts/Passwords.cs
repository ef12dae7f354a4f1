using Microsoft.AspNetCore.Identity;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>Password hashing with ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, constant-time check) and the rules a password must meet.</summary>
public static class Passwords
{
    public const int MinLength = 8;
    public const int MaxLength = 256;
    private static readonly PasswordHasher<User> Hasher = new();
    // Checked against when the user name is unknown, so that a miss takes as long as a wrong password.
    private static readonly string DecoyHash = Hasher.HashPassword(null!, Secrets.NewToken());

    public static string Hash(string password) => Hasher.HashPassword(null!, password);

    /// <summary>Whether <paramref name="password"/> is the user's; with no user, the same work is done and the answer is no.</summary>
    public static bool Verify(User? user, string password)
    {
        var result = Hasher.VerifyHashedPassword(user!, user?.PasswordHash ?? DecoyHash, password);
        return user is not null && result != PasswordVerificationResult.Failed;
    }

    public static void Validate(string password, string param)
    {
        if (password.Length < MinLength || password.Length > MaxLength)
        {
            throw ApiException.BadRequest($"A password needs {MinLength} to {MaxLength} characters.", param, "weak_password");
        }
    }
}
