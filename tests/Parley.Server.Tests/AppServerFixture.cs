using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;

namespace Parley.Server.Tests;

/// <summary>A real server with a fresh SQLite database and two signed-in users: alice (the admin) and bob.</summary>
public class AppServerFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;
    public Uri Url { get; private set; } = null!;
    public AppClient Alice { get; private set; } = null!;
    public AppClient Bob { get; private set; } = null!;

    public ParleyDb Db() => App.Services.GetRequiredService<Database>().Open();

    /// <summary>The PostgreSQL connection string to use, or null for SQLite.</summary>
    protected virtual Task<string?> DatabaseAsync() => Task.FromResult<string?>(null);

    public async Task InitializeAsync()
    {
        string? database = await DatabaseAsync();
        (App, Url) = await ServerFixture.StartAsync(configure: o => o with { AuthAttemptsPerMinute = 1000, MessagesPerMinute = 1000, GenerationsPerUser = 4, Database = database });
        Alice = new AppClient(Url);
        await Alice.RegisterAsync("alice");
        Bob = new AppClient(Url);
        await Bob.RegisterAsync("bob");
    }

    public async Task DisposeAsync()
    {
        Alice.Dispose();
        Bob.Dispose();
        await App.DisposeAsync();
    }
}

/// <summary>The same, on a fresh database of the test run's PostgreSQL server.</summary>
public sealed class PostgresAppServerFixture : AppServerFixture
{
    protected override async Task<string?> DatabaseAsync() => await PostgresServer.NewDatabaseAsync();
}
