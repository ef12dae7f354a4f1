using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;

namespace Parley.Server.Tests;

/// <summary>The checked-in migrations describe the model exactly, for both providers (a change without a new migration fails here).</summary>
public sealed class MigrationTests
{
    [Fact]
    public void MigrationsMatchTheModelForSqliteAndPostgres()
    {
        string file = Path.Combine(Path.GetTempPath(), $"parley-migrations-{Guid.NewGuid():N}.db");
        using (var sqlite = Database.Sqlite(file).Open()) Assert.False(sqlite.Database.HasPendingModelChanges(), "run: dotnet run --project tools/Parley.Migrations -- NAME");
        using (var postgres = Database.Postgres("Host=127.0.0.1;Database=unused").Open()) Assert.False(postgres.Database.HasPendingModelChanges(), "run: dotnet run --project tools/Parley.Migrations -- NAME");
        File.Delete(file);
    }
}
