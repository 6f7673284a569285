using BenchmarkDotNet.Running;
using EventflowDb.Bench.Compare;
using EventflowDb.Bench.Soak;

namespace EventflowDb.Bench;

/// <summary>Entry point: <c>compare</c> (side by side with Redis), <c>subscribe</c> (subscription latency and throughput), <c>big</c> (restart and memory at scale), <c>cold</c> (the first requests of a fresh store), <c>cluster</c> (3 local members: ADD, batches, failover), <c>ops</c> (BACKUP, efdb export and import), <c>soak</c> (memory, threads and latency under long mixed and hostile load), <c>compact</c> (compaction rate and ADD latency during it), <c>chaos</c> (3 members under random kills, freezes, partitions and wipes, checking invariants), <c>micro</c> (BenchmarkDotNet).</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "compare";
        switch (mode)
        {
            case "compare":
                return await CompareRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "subscribe":
                return await SubscribeRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "big":
                return await BigRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "cold":
                return await ColdRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "cluster":
                return await ClusterRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "ops":
                return await OpsRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "soak":
                return await SoakRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "chaos":
                return await Chaos.ChaosRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "compact":
                return await CompactRun.RunAsync(args[1..]).ConfigureAwait(false);
            case "micro":
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
                return 0;
            default:
                await Console.Error.WriteLineAsync("usage: EventflowDb.Bench compare|subscribe|big|cold|cluster|ops|soak|compact|chaos|micro [options]").ConfigureAwait(false);
                return 2;
        }
    }
}
