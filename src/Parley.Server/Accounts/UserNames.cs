using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>What a user name may be: 3 to 32 letters, digits, '.', '_' or '-'; compared without case.</summary>
public static class UserNames
{
    public static string Normalize(string name) => name.Trim().ToLowerInvariant();

    public static string Validate(string name)
    {
        name = name.Trim();
        if (name.Length is < 3 or > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw ApiException.BadRequest("A user name needs 3 to 32 letters, digits, '.', '_' or '-'.", "username", "invalid_username");
        }

        return name;
    }
}
