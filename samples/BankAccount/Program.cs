// A bank account kept as a stream of events in EventflowDB.
// Usage: dotnet run --project samples/BankAccount [-- <connection string>]
// The connection string is the StackExchange.Redis one ("localhost:6543,password=secret"); it defaults to the
// EVENTFLOWDB environment variable, then to localhost:6543.
using BankAccount;
using EventflowDb.Client;

string connectionString = args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("EVENTFLOWDB") is { Length: > 0 } fromEnvironment ? fromEnvironment : "localhost:6543";

EventflowDbClient client;
try
{
    client = await EventflowDbClient.ConnectAsync(connectionString);
}
catch (EventflowDbException e)
{
    Console.Error.WriteLine($"Cannot connect to EventflowDB at '{connectionString}': {e.Message}");
    return 2;
}

await using (client)
{
    var map = new EventTypeMap(BankJsonContext.Default)
        .Add(BankJsonContext.Default.AccountOpened, "AccountOpened")
        .Add(BankJsonContext.Default.MoneyDeposited, "MoneyDeposited")
        .Add(BankJsonContext.Default.MoneyWithdrawn, "MoneyWithdrawn");
    // A snapshot of the account every 3 events: loading then reads the snapshot and only the events after it.
    var commands = new AccountCommands(client, map, Console.Out, snapshotEvery: 3);
    string id = $"account-{Guid.NewGuid():N}";
    Console.WriteLine($"EventflowDB {await client.GetServerVersionAsync()}, account {id}");

    var account = await commands.HandleAsync(id, a => a.Open("Ada"), commandId: "open");
    Console.WriteLine($"Opened for {account.Owner}");
    account = await commands.HandleAsync(id, a => a.Deposit(100m));
    Console.WriteLine($"Deposited 100, balance {account.Balance}");

    // Idempotency: the payroll system sends its payment with a message id; delivering it twice stores it once.
    account = await commands.HandleAsync(id, a => a.Deposit(50m), commandId: "payroll-2025-01");
    Console.WriteLine($"Payroll deposited 50, balance {account.Balance}");
    account = await commands.HandleAsync(id, a => a.Deposit(50m), commandId: "payroll-2025-01");
    Console.WriteLine($"Payroll delivered again, balance still {account.Balance}");

    // Optimistic concurrency: two tellers load the account at the same version; the second append conflicts,
    // reloads the account and decides again against the new balance.
    var tellerA = await Account.LoadAsync(client, map, id);
    var tellerB = await Account.LoadAsync(client, map, id);
    account = await commands.HandleAsync(id, a => a.Withdraw(30m), account: tellerA);
    Console.WriteLine($"Teller A withdrew 30, balance {account.Balance}");
    account = await commands.HandleAsync(id, a => a.Withdraw(20m), account: tellerB);
    Console.WriteLine($"Teller B withdrew 20, balance {account.Balance}");

    try
    {
        await commands.HandleAsync(id, a => a.Withdraw(1_000m));
    }
    catch (InvalidOperationException e)
    {
        Console.WriteLine($"Rejected: {e.Message}");
    }

    var rebuilt = await Account.LoadAsync(client, map, id);
    Console.WriteLine($"Loaded from the snapshot at version {rebuilt.SnapshotVersion} and {rebuilt.EventsReplayed} events after it: {rebuilt.Owner} has {rebuilt.Balance}");
    if (rebuilt.Balance != 100m || rebuilt.Version != 5 || rebuilt.SnapshotVersion != 2 || rebuilt.EventsReplayed != 2)
    {
        Console.Error.WriteLine("Unexpected state: expected a balance of 100 after 5 events, loaded from the snapshot at version 2.");
        return 1;
    }

    // Closing: only an empty account can be closed; closing deletes its stream.
    try
    {
        await commands.CloseAsync(id);
    }
    catch (InvalidOperationException e)
    {
        Console.WriteLine($"Rejected: {e.Message}");
    }

    account = await commands.HandleAsync(id, a => a.Withdraw(a.Balance));
    Console.WriteLine($"Withdrew the rest, balance {account.Balance}");
    await commands.CloseAsync(id);
    var metadata = await client.GetStreamMetadataAsync(id);
    Console.WriteLine($"After closing: deleted {metadata.Deleted}, {await client.ReadStreamAsync(id).CountAsync()} events readable");
    if (!metadata.Deleted)
    {
        Console.Error.WriteLine("Unexpected state: the closed account's stream is not deleted.");
        return 1;
    }
}

return 0;
