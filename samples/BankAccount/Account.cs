using EventflowDb.Client;

namespace BankAccount;

/// <summary>
/// A bank account aggregate: its state is rebuilt from the events of its stream, and its decisions produce new events.
/// </summary>
public sealed class Account
{
    private Account(string id) => Id = id;

    /// <summary>The stream of the account, e.g. <c>account-42</c> (category <c>account</c>).</summary>
    public string Id { get; }

    /// <summary>The account holder, null until opened.</summary>
    public string? Owner { get; private set; }

    /// <summary>The current balance.</summary>
    public decimal Balance { get; private set; }

    /// <summary>The stream's event count so far (the version of the last event applied, plus one): the expected version of the next append.</summary>
    public long Version { get; private set; }

    /// <summary>The version of the snapshot the account was loaded from, or null when it was rebuilt from the first event.</summary>
    public long? SnapshotVersion { get; private set; }

    /// <summary>How many events were read from the stream when loading (those after the snapshot).</summary>
    public int EventsReplayed { get; private set; }

    /// <summary>
    /// Loads an account: from its latest snapshot, if there is one, then only the events after it (a missing stream is a
    /// new, unopened account).
    /// </summary>
    public static async Task<Account> LoadAsync(EventflowDbClient client, EventTypeMap map, string id, CancellationToken cancellationToken = default)
    {
        var account = new Account(id);
        var snapshot = await client.GetSnapshotAsync(id, BankJsonContext.Default.AccountState, cancellationToken);
        if (snapshot is not null)
        {
            account.Owner = snapshot.State.Owner;
            account.Balance = snapshot.State.Balance;
            account.Version = snapshot.Version + 1;
            account.SnapshotVersion = snapshot.Version;
        }

        await foreach (var recorded in client.ReadStreamAsync(id, fromVersion: account.Version, cancellationToken: cancellationToken))
        {
            account.Apply(map.Deserialize(recorded), recorded.Version);
            account.EventsReplayed++;
        }

        return account;
    }

    /// <summary>The state to save as a snapshot (as of the event <see cref="Version"/> − 1).</summary>
    public AccountState ToState() => new(Owner, Balance);

    /// <summary>Decides to open the account.</summary>
    public AccountOpened Open(string owner) =>
        Owner is null ? new AccountOpened(owner) : throw new InvalidOperationException($"{Id} is already open.");

    /// <summary>Decides to deposit money.</summary>
    public MoneyDeposited Deposit(decimal amount)
    {
        EnsureOpen();
        return amount > 0 ? new MoneyDeposited(amount) : throw new InvalidOperationException("A deposit must be positive.");
    }

    /// <summary>Decides to withdraw money, if the balance covers it.</summary>
    public MoneyWithdrawn Withdraw(decimal amount)
    {
        EnsureOpen();
        if (amount <= 0)
        {
            throw new InvalidOperationException("A withdrawal must be positive.");
        }

        return amount <= Balance
            ? new MoneyWithdrawn(amount)
            : throw new InvalidOperationException($"Insufficient funds: the balance is {Balance}, {amount} was asked for.");
    }

    /// <summary>Checks that the account may be closed: it is open and its balance is zero.</summary>
    public void EnsureCanClose()
    {
        EnsureOpen();
        if (Balance != 0)
        {
            throw new InvalidOperationException($"{Id} still holds {Balance}: withdraw it before closing the account.");
        }
    }

    /// <summary>Applies one stored event, the stream's event <paramref name="version"/>, to the state.</summary>
    public void Apply(object @event, long version)
    {
        switch (@event)
        {
            case AccountOpened opened:
                Owner = opened.Owner;
                break;
            case MoneyDeposited deposited:
                Balance += deposited.Amount;
                break;
            case MoneyWithdrawn withdrawn:
                Balance -= withdrawn.Amount;
                break;
            default:
                throw new InvalidOperationException($"Unknown event {@event.GetType().Name}.");
        }

        Version = version + 1;
    }

    private void EnsureOpen()
    {
        if (Owner is null)
        {
            throw new InvalidOperationException($"{Id} is not open.");
        }
    }
}
