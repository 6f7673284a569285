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

    /// <summary>Events applied so far: the stream's event count, i.e. the expected version of the next append.</summary>
    public long Version { get; private set; }

    /// <summary>Rebuilds an account from its stream (a missing stream is a new, unopened account).</summary>
    public static async Task<Account> LoadAsync(EventflowDbClient client, EventTypeMap map, string id, CancellationToken cancellationToken = default)
    {
        var account = new Account(id);
        await foreach (var recorded in client.ReadStreamAsync(id, cancellationToken: cancellationToken))
        {
            account.Apply(map.Deserialize(recorded));
        }

        return account;
    }

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

    /// <summary>Applies one event to the state.</summary>
    public void Apply(object @event)
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

        Version++;
    }

    private void EnsureOpen()
    {
        if (Owner is null)
        {
            throw new InvalidOperationException($"{Id} is not open.");
        }
    }
}
