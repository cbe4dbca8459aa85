-- The differential corpus's fixture, loaded into Enishi and PostgreSQL alike.
CREATE TABLE dept (id int NOT NULL, name text, budget bigint, region text);
INSERT INTO dept VALUES
  (1, 'Engineering', 1200000, 'north'),
  (2, 'Sales', 800000, 'south'),
  (3, 'Marketing', 450000, 'north'),
  (4, 'Support', 300000, NULL),
  (5, 'Research', NULL, 'west');
CREATE TABLE emp (id int NOT NULL, name text, dept_id int, salary numeric(10,2), hired date, manager_id int, active boolean);
INSERT INTO emp VALUES
  (1, 'Ada', 1, 9500.00, '2019-03-01', NULL, true),
  (2, 'Brian', 1, 7200.50, '2020-07-15', 1, true),
  (3, 'Chen', 2, 6100.00, '2018-01-20', 1, false),
  (4, 'Dana', 2, 5800.25, '2021-11-30', 3, true),
  (5, 'Eve', 3, 6600.00, '2017-05-09', 1, true),
  (6, 'Farid', NULL, 4300.00, '2022-02-14', 5, NULL),
  (7, 'Gita', 1, 8100.75, '2016-09-01', 1, true),
  (8, 'Hugo', 4, 3900.00, '2023-04-03', 5, false),
  (9, 'Ines', 3, NULL, '2020-12-31', 5, true),
  (10, 'Jon', 2, 5800.25, '2019-06-18', 3, true);
CREATE TABLE sales (id int, emp_id int, amount double precision, qty int, sold_at timestamp, product text);
INSERT INTO sales VALUES
  (1, 2, 120.5, 3, '2024-01-05 09:30:00', 'widget'),
  (2, 3, 75.25, 1, '2024-01-06 14:00:00', 'gadget'),
  (3, 3, 300, 10, '2024-02-10 11:15:00', 'widget'),
  (4, 4, 42.75, 2, '2024-02-11 16:45:30', 'gizmo'),
  (5, 10, 980.5, 20, '2024-03-01 08:00:00', 'widget'),
  (6, 10, 15, 1, '2024-03-15 12:00:00', NULL),
  (7, 4, 220, 4, '2024-03-20 18:30:00', 'gadget'),
  (8, 2, 64.125, 2, '2024-04-02 10:10:10', 'gizmo'),
  (9, 99, 10, 1, '2024-04-03 10:00:00', 'widget'),
  (10, 3, NULL, 5, '2024-04-04 09:00:00', 'gadget');
CREATE TABLE nums (n int, x double precision, s text);
INSERT INTO nums VALUES
  (1, 1.5, 'one'), (2, -2.25, 'two'), (3, 0, 'three'), (4, 10, 'four'),
  (5, NULL, 'five'), (NULL, 3.75, NULL), (7, 100.125, 'seven'), (8, -0.5, 'Eight');
