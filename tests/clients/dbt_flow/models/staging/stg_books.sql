-- The newest version of each book loaded up to the run's batch.
select book_id, author_id, title, pages, price, loaded_at
from (
    select *,
           row_number() over (partition by book_id order by loaded_at desc) as version
    from {{ ref('books') }}
    where batch <= {{ var('batch', 1) }}
) loaded
where version = 1
