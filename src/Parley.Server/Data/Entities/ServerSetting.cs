namespace Parley.Server.Data.Entities;

/// <summary>A server-wide switch the admin controls, such as whether registration is open.</summary>
public sealed class ServerSetting
{
    public required string Key { get; set; }
    public required string Value { get; set; }
}
