using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>/api/keys: API keys for /v1. The key is shown once, at creation; afterwards only its prefix.</summary>
public static class KeyEndpoints
{
    public const string KeyPrefix = "sk-parley-";
    public const int MaxKeysPerUser = 50;

    public static void Map(RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").RequireAuthorization();
        keys.MapGet("", List);
        keys.MapPost("", Create);
        keys.MapDelete("/{id:guid}", Revoke);
    }

    private static object View(ApiKey k) => new { id = k.Id, name = k.Name, prefix = k.Prefix, createdAt = k.CreatedAt, lastUsedAt = k.LastUsedAt };

    private static async Task<IResult> List(HttpContext http, ParleyDb db)
    {
        var userId = http.User.UserId();
        var keys = await db.ApiKeys.Where(k => k.UserId == userId).OrderByDescending(k => k.CreatedAt).ToListAsync();
        return Results.Ok(keys.Select(View));
    }

    private static async Task<IResult> Create(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        string name = (j.String("name") ?? "").Trim();
        if (name.Length is 0 or > 100) throw ApiException.BadRequest("A key needs a name of 1 to 100 characters.", "name");
        var userId = http.User.UserId();
        if (await db.ApiKeys.CountAsync(k => k.UserId == userId) >= MaxKeysPerUser) throw ApiException.BadRequest($"At most {MaxKeysPerUser} keys per user; revoke one first.");
        string secret = KeyPrefix + Secrets.NewToken();
        var key = new ApiKey { UserId = userId, Name = name, Prefix = secret[..(KeyPrefix.Length + 4)], Hash = Secrets.Hash(secret) };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync();
        return Results.Json(new { id = key.Id, name, prefix = key.Prefix, key = secret, createdAt = key.CreatedAt }, statusCode: 201);
    }

    private static async Task<IResult> Revoke(HttpContext http, ParleyDb db, Guid id)
    {
        var userId = http.User.UserId();
        int deleted = await db.ApiKeys.Where(k => k.Id == id && k.UserId == userId).ExecuteDeleteAsync();
        return deleted == 0 ? throw ApiException.NotFound("API key") : Results.NoContent();
    }
}
