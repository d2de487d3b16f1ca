package creditledger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.hadoop.hive.ql.exec.Description;
import org.apache.hadoop.hive.ql.exec.UDFArgumentException;
import org.apache.hadoop.hive.ql.metadata.HiveException;
import org.apache.hadoop.hive.ql.udf.generic.GenericUDF;
import org.apache.hadoop.hive.serde2.objectinspector.ListObjectInspector;
import org.apache.hadoop.hive.serde2.objectinspector.ObjectInspector;
import org.apache.hadoop.hive.serde2.objectinspector.ObjectInspectorFactory;
import org.apache.hadoop.hive.serde2.objectinspector.PrimitiveObjectInspector;
import org.apache.hadoop.hive.serde2.objectinspector.StructField;
import org.apache.hadoop.hive.serde2.objectinspector.StructObjectInspector;
import org.apache.hadoop.hive.serde2.objectinspector.primitive.PrimitiveObjectInspectorFactory;
import org.apache.hadoop.hive.serde2.objectinspector.primitive.PrimitiveObjectInspectorUtils;

/**
 * FIFO lot depletion for Spark SQL (and Hive): the same walk as the DuckDB
 * kernel in credit_ledger/fifo.py, in Java so that a plain SQL session can
 * call it after `create temporary function ... using jar`.
 *
 * fifo_allocate(events) takes an array of structs
 *   (user_id, credit_history_id, occurred_us, amount_milli, expires_us)
 * holding all rows of one or more whole users, in any order, and returns an
 * array of structs
 *   (user_id, debit_id, lot_id, piece_kind, amount_milli, allocated_us)
 * with piece_kind 0 consumption, 1 debt_repayment, 2 unfunded (lot_id null).
 * Times are microseconds since the epoch; a null expires_us or
 * Long.MAX_VALUE means "never expires". Per user the time is O(n log n) for
 * the sort (skipped when the rows arrive in order) and O(n log lots) for
 * the walk: lots wait in a heap, debts in a queue.
 */
@Description(
    name = "fifo_allocate",
    value = "_FUNC_(array<struct<user_id,credit_history_id,occurred_us,amount_milli,expires_us>>)"
        + " - FIFO allocation pieces of whole users' ledger rows")
public final class FifoAllocate extends GenericUDF {

    static final String[] EVENT_FIELDS = {
        "user_id", "credit_history_id", "occurred_us", "amount_milli", "expires_us"};
    static final String[] PIECE_FIELDS = {
        "user_id", "debit_id", "lot_id", "piece_kind", "amount_milli", "allocated_us"};

    static final long NEVER = Long.MAX_VALUE;
    static final int CONSUMPTION = 0;
    static final int DEBT_REPAYMENT = 1;
    static final int UNFUNDED = 2;

    private transient ListObjectInspector listInspector;
    private transient StructObjectInspector eventInspector;
    private transient StructField[] fields;
    private transient PrimitiveObjectInspector[] fieldInspectors;

    @Override
    public ObjectInspector initialize(ObjectInspector[] arguments) throws UDFArgumentException {
        if (arguments.length != 1 || !(arguments[0] instanceof ListObjectInspector)) {
            throw new UDFArgumentException("fifo_allocate takes one array of event structs");
        }
        listInspector = (ListObjectInspector) arguments[0];
        ObjectInspector element = listInspector.getListElementObjectInspector();
        if (!(element instanceof StructObjectInspector)) {
            throw new UDFArgumentException("fifo_allocate: the array elements must be structs");
        }
        eventInspector = (StructObjectInspector) element;
        fields = new StructField[EVENT_FIELDS.length];
        fieldInspectors = new PrimitiveObjectInspector[EVENT_FIELDS.length];
        for (int f = 0; f < EVENT_FIELDS.length; f++) {
            StructField field = eventInspector.getStructFieldRef(EVENT_FIELDS[f]);
            if (field == null
                    || !(field.getFieldObjectInspector() instanceof PrimitiveObjectInspector)) {
                throw new UDFArgumentException(
                    "fifo_allocate: the event struct needs an integer field " + EVENT_FIELDS[f]);
            }
            fields[f] = field;
            fieldInspectors[f] = (PrimitiveObjectInspector) field.getFieldObjectInspector();
        }
        List<ObjectInspector> pieceInspectors = new ArrayList<>();
        for (int f = 0; f < PIECE_FIELDS.length; f++) {
            pieceInspectors.add(f == 3
                ? PrimitiveObjectInspectorFactory.javaIntObjectInspector
                : PrimitiveObjectInspectorFactory.javaLongObjectInspector);
        }
        return ObjectInspectorFactory.getStandardListObjectInspector(
            ObjectInspectorFactory.getStandardStructObjectInspector(
                Arrays.asList(PIECE_FIELDS), pieceInspectors));
    }

    @Override
    public Object evaluate(DeferredObject[] arguments) throws HiveException {
        Object list = arguments[0].get();
        if (list == null) {
            return null;
        }
        int n = listInspector.getListLength(list);
        long[] user = new long[n];
        long[] ident = new long[n];
        long[] at = new long[n];
        long[] amount = new long[n];
        long[] expires = new long[n];
        long[][] columns = {user, ident, at, amount, expires};
        for (int i = 0; i < n; i++) {
            Object event = listInspector.getListElement(list, i);
            if (event == null) {
                throw new HiveException("fifo_allocate: null event");
            }
            for (int f = 0; f < EVENT_FIELDS.length; f++) {
                Object value = eventInspector.getStructFieldData(event, fields[f]);
                if (value == null) {
                    if (f != 4) {
                        throw new HiveException("fifo_allocate: null " + EVENT_FIELDS[f]);
                    }
                    columns[f][i] = NEVER;
                } else {
                    columns[f][i] = PrimitiveObjectInspectorUtils.getLong(value, fieldInspectors[f]);
                }
            }
        }
        return allocate(user, ident, at, amount, expires);
    }

    @Override
    public String getDisplayString(String[] children) {
        return "fifo_allocate(" + String.join(", ", children) + ")";
    }

    /** The pieces (as Object[] rows in PIECE_FIELDS order) of the events. */
    static List<Object[]> allocate(long[] user, long[] ident, long[] at, long[] amount,
                                   long[] expires) {
        int n = user.length;
        int[] order = sortOrder(user, ident, at);
        long[] u = gather(order, user);
        long[] id = gather(order, ident);
        long[] t = gather(order, at);
        long[] amt = gather(order, amount);
        long[] exp = gather(order, expires);

        List<Object[]> pieces = new ArrayList<>(n + 16);
        long[] remaining = new long[n]; // per lot, by sorted event index
        int[] heap = new int[n]; // open lots, soonest expiry on top
        int[] debtEvent = new int[n]; // debits owing, oldest first
        long[] debtLeft = new long[n];
        int start = 0;
        while (start < n) {
            int end = start;
            while (end < n && u[end] == u[start]) {
                end++;
            }
            int heapSize = 0;
            int debtHead = 0;
            int debtTail = 0;
            for (int i = start; i < end; i++) {
                long now = t[i];
                if (amt[i] < 0) {
                    long need = -amt[i];
                    // lots that expire at or before the debit are no longer usable
                    while (heapSize > 0 && exp[heap[0]] <= now) {
                        heapSize = heapPop(heap, heapSize, exp);
                    }
                    // consume the soonest-expiring open lots
                    while (need > 0 && heapSize > 0) {
                        int lot = heap[0];
                        long take = Math.min(need, remaining[lot]);
                        pieces.add(piece(u[i], id[i], id[lot], CONSUMPTION, take, now));
                        remaining[lot] -= take;
                        need -= take;
                        if (remaining[lot] == 0) {
                            heapSize = heapPop(heap, heapSize, exp);
                        }
                    }
                    // the rest is debt owed by this debit
                    if (need > 0) {
                        debtEvent[debtTail] = i;
                        debtLeft[debtTail] = need;
                        debtTail++;
                    }
                } else if (amt[i] > 0) {
                    if (exp[i] <= now) {
                        continue; // expired on arrival: repays nothing, opens nothing
                    }
                    long available = amt[i];
                    // a new lot repays outstanding debt, oldest debit first
                    while (available > 0 && debtHead < debtTail) {
                        long pay = Math.min(available, debtLeft[debtHead]);
                        pieces.add(piece(u[i], id[debtEvent[debtHead]], id[i], DEBT_REPAYMENT,
                                         pay, now));
                        available -= pay;
                        debtLeft[debtHead] -= pay;
                        if (debtLeft[debtHead] == 0) {
                            debtHead++;
                        }
                    }
                    if (available > 0) {
                        remaining[i] = available;
                        heapSize = heapPush(heap, heapSize, i, exp);
                    }
                }
            }
            // debt no later lot repaid is unfunded, at the debit's time
            for (int q = debtHead; q < debtTail; q++) {
                int debit = debtEvent[q];
                pieces.add(piece(u[start], id[debit], null, UNFUNDED, debtLeft[q], t[debit]));
            }
            start = end;
        }
        return pieces;
    }

    private static Object[] piece(long user, long debit, Long lot, int kind, long amount,
                                  long at) {
        return new Object[] {user, debit, lot, kind, amount, at};
    }

    private static long[] gather(int[] order, long[] values) {
        long[] out = new long[order.length];
        for (int k = 0; k < order.length; k++) {
            out[k] = values[order[k]];
        }
        return out;
    }

    private static boolean before(int a, int b, long[] user, long[] ident, long[] at) {
        if (user[a] != user[b]) {
            return user[a] < user[b];
        }
        if (at[a] != at[b]) {
            return at[a] < at[b];
        }
        return ident[a] < ident[b];
    }

    /** Indexes ordered by (user, at, ident); no sort when already in order. */
    static int[] sortOrder(long[] user, long[] ident, long[] at) {
        int n = user.length;
        int[] order = new int[n];
        for (int k = 0; k < n; k++) {
            order[k] = k;
        }
        boolean sorted = true;
        for (int k = 1; k < n && sorted; k++) {
            sorted = !before(k, k - 1, user, ident, at);
        }
        if (sorted) {
            return order;
        }
        // bottom-up merge sort of the indexes
        int[] buffer = new int[n];
        for (int width = 1; width < n; width *= 2) {
            for (int low = 0; low < n - width; low += 2 * width) {
                int mid = low + width;
                int high = Math.min(low + 2 * width, n);
                int a = low;
                int b = mid;
                int k = low;
                while (a < mid && b < high) {
                    buffer[k++] = before(order[b], order[a], user, ident, at) ? order[b++] : order[a++];
                }
                while (a < mid) {
                    buffer[k++] = order[a++];
                }
                while (b < high) {
                    buffer[k++] = order[b++];
                }
                System.arraycopy(buffer, low, order, low, high - low);
            }
        }
        return order;
    }

    // Lots are sorted event indexes, so index order is (granted_at, lot_id)
    // order: the tie-break after expires_at (never = Long.MAX_VALUE, last).
    private static boolean lotBefore(int a, int b, long[] expires) {
        return expires[a] < expires[b] || (expires[a] == expires[b] && a < b);
    }

    private static int heapPush(int[] heap, int size, int item, long[] expires) {
        int i = size;
        heap[i] = item;
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!lotBefore(heap[i], heap[parent], expires)) {
                break;
            }
            int swap = heap[i];
            heap[i] = heap[parent];
            heap[parent] = swap;
            i = parent;
        }
        return size + 1;
    }

    private static int heapPop(int[] heap, int size, long[] expires) {
        size--;
        heap[0] = heap[size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && lotBefore(heap[child + 1], heap[child], expires)) {
                child++;
            }
            if (!lotBefore(heap[child], heap[i], expires)) {
                break;
            }
            int swap = heap[i];
            heap[i] = heap[child];
            heap[child] = swap;
            i = child;
        }
        return size;
    }
}
