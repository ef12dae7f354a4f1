using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>
/// Who may call /v1: anyone signed in (API key or session). Before the first account exists, Parley
/// is a local tool and /v1 stays open, but only to loopback clients.
/// </summary>
public sealed class V1Access
{
    private volatile bool _accountsExist;

    public async Task Middleware(HttpContext http, RequestDelegate next)
    {
        if (http.User.IsSignedIn() || (!await AccountsExistAsync(http) && IsLoopback(http.Connection.RemoteIpAddress)))
        {
            await next(http);
            return;
        }

        await ApiErrors.WriteAsync(http, new ApiException(401,
            "Send an API key as 'Authorization: Bearer KEY' (create one under Settings → API keys).", "authentication_error", code: "invalid_api_key"));
    }

    private async Task<bool> AccountsExistAsync(HttpContext http)
    {
        // Once there are accounts there always are (users are disabled, not deleted), so only "none yet" is asked again.
        if (!_accountsExist) _accountsExist = await http.RequestServices.GetRequiredService<ParleyDb>().Users.AnyAsync(http.RequestAborted);
        return _accountsExist;
    }

    private static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address);
}
