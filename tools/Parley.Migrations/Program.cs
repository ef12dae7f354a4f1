using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.EntityFrameworkCore.Sqlite.Design.Internal;
using Microsoft.Extensions.DependencyInjection;
using Npgsql.EntityFrameworkCore.PostgreSQL.Design.Internal;
using Parley.Server.Data;

// Writes a new migration NAME for SQLite and for PostgreSQL into src/Parley.Server/Data/Migrations/{Sqlite,Postgres}.
// Run from the repository root after changing the model: dotnet run --project tools/Parley.Migrations -- NAME
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: dotnet run --project tools/Parley.Migrations -- MIGRATION_NAME");
    return 2;
}

string project = Path.GetFullPath("src/Parley.Server");
if (!File.Exists(Path.Combine(project, "Parley.Server.csproj")))
{
    Console.Error.WriteLine("run this from the repository root");
    return 2;
}

Scaffold(Database.Sqlite(Path.Combine(Path.GetTempPath(), $"parley-scaffold-{Guid.NewGuid():N}.db")).Open(), new SqliteDesignTimeServices(), "Sqlite");
Scaffold(Database.Postgres("Host=127.0.0.1;Database=scaffold").Open(), new NpgsqlDesignTimeServices(), "Postgres");
return 0;

void Scaffold(ParleyDb db, IDesignTimeServices provider, string folder)
{
    using (db)
    {
        var services = new ServiceCollection();
        services.AddEntityFrameworkDesignTimeServices();
        services.AddDbContextDesignTimeServices(db);
        provider.ConfigureDesignTimeServices(services);
        using var sp = services.BuildServiceProvider();
        var scaffolder = sp.GetRequiredService<IMigrationsScaffolder>();
        var migration = scaffolder.ScaffoldMigration(args[0], "Parley.Server", $"Data.Migrations.{folder}");
        var files = scaffolder.Save(project, migration, Path.Combine(project, "Data", "Migrations", folder));
        Console.WriteLine($"{folder}: {files.MigrationFile}");
    }
}
