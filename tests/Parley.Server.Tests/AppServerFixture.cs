using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;

namespace Parley.Server.Tests;

/// <summary>A real server with a fresh SQLite database and two signed-in users: alice (the admin) and bob.</summary>
public sealed class AppServerFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;
    public Uri Url { get; private set; } = null!;
    public AppClient Alice { get; private set; } = null!;
    public AppClient Bob { get; private set; } = null!;

    public ParleyDb Db() => App.Services.GetRequiredService<Database>().Open();

    public async Task InitializeAsync()
    {
        (App, Url) = await ServerFixture.StartAsync(configure: o => o with { AuthAttemptsPerMinute = 1000, MessagesPerMinute = 1000, GenerationsPerUser = 4 });
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
