namespace EventflowDb.Cli.Infrastructure;

/// <summary>The exit codes of efdb.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>A bad argument, an I/O error, a server error or an unreachable server.</summary>
    public const int Error = 1;

    /// <summary>Damage found in a data or backup directory.</summary>
    public const int Damage = 2;
}
